//! The content-stream interpreter: runs a page's operators with the graphics and text
//! state (PDF 32000-1 §8, §9) and records what the text layout needs — every glyph with
//! its text, position, size and direction — plus ruling lines (for tables) and image
//! placements (for scanned pages).
//!
//! Positions are in *page space*: the crop box with its origin at the top left, y
//! growing downwards, after the page's `/Rotate` — the page as a reader shows it. Each
//! glyph is also expressed in its *line frame* (`u` along the writing direction, `v`
//! downwards across lines), so that the layout can treat rotated text like upright text.

pub(crate) mod lexer;

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::decode::{self, Budget};
use crate::font::{self, Font};
use crate::objects::{as_dict, get, get_dict, get_name, nums, ref_id};
use lexer::{Lexer, Tok};

/// A 2D affine matrix `[a b c d e f]`.
pub(crate) type Matrix = [f32; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m` then `n` (row-vector convention: p' = p × m × n).
#[inline]
pub(crate) fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

#[inline]
fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

#[inline]
fn apply_lin(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y, m[1] * x + m[3] * y)
}

/// One shown glyph.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    /// Start of the writing-direction extent (line frame).
    pub(crate) u0: f32,
    /// End of the writing-direction extent (line frame).
    pub(crate) u1: f32,
    /// Baseline (line frame, downwards).
    pub(crate) base: f32,
    /// Top of the glyph box (line frame).
    pub(crate) top: f32,
    /// Bottom of the glyph box (line frame).
    pub(crate) bottom: f32,
    /// Font size in page space.
    pub(crate) size: f32,
    /// Writing direction: 0 left-to-right, 1 top-to-bottom, 2 right-to-left (upside
    /// down), 3 bottom-to-top.
    pub(crate) rot: u8,
    /// Whether the glyph is a space (a word break, not text).
    pub(crate) space: bool,
    /// Its text: `chars[start..start + len]`.
    pub(crate) start: u32,
    /// Number of chars.
    pub(crate) len: u8,
    /// Font identity (for word grouping).
    pub(crate) font: u32,
}

/// An axis-aligned ruling line or thin filled rectangle, page space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    /// Left.
    pub(crate) x0: f32,
    /// Top.
    pub(crate) y0: f32,
    /// Right.
    pub(crate) x1: f32,
    /// Bottom.
    pub(crate) y1: f32,
}

/// What a page's content streams showed.
#[derive(Debug, Default)]
pub(crate) struct PageContent {
    /// Glyphs in content-stream order.
    pub(crate) glyphs: Vec<Glyph>,
    /// Text of the glyphs.
    pub(crate) chars: Vec<char>,
    /// Ruling lines.
    pub(crate) rules: Vec<Rule>,
    /// Image placements `[x0, y0, x1, y1]`, page space.
    pub(crate) images: Vec<[f32; 4]>,
    /// Page width and height in page space.
    pub(crate) size: (f32, f32),
    /// Problems met (fonts, streams, limits).
    pub(crate) warnings: Vec<String>,
    /// Set when a limit cut the page short (its text is incomplete).
    pub(crate) truncated: bool,
}

/// Fonts loaded so far, by object id, shared by all pages of a document.
#[derive(Default)]
pub(crate) struct FontCache {
    by_id: HashMap<ObjectId, (u32, Rc<Font>)>,
    next: u32,
}

/// Decoded form XObjects, by object id, shared by all pages of a document.
pub(crate) type FormCache = HashMap<ObjectId, Rc<Vec<u8>>>;

/// Limits the interpreter enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InterpLimits {
    /// Deepest nesting of form XObjects (and q/Q saves).
    pub(crate) max_depth: usize,
    /// Most operators run for one page (forms included).
    pub(crate) max_ops: u64,
    /// Most glyphs recorded for one page.
    pub(crate) max_glyphs: usize,
}

#[derive(Clone)]
struct GState {
    ctm: Matrix,
    font: Option<(u32, Rc<Font>)>,
    size: f32,
    char_sp: f32,
    word_sp: f32,
    hscale: f32,
    leading: f32,
    rise: f32,
    line_width: f32,
}

/// Runs the content of one page.
pub(crate) struct Interp<'a> {
    doc: &'a Document,
    fonts: &'a mut FontCache,
    forms: &'a mut FormCache,
    budget: &'a mut Budget,
    limits: InterpLimits,
    out: PageContent,
    ops: u64,
    form_stack: Vec<ObjectId>,
    gs: GState,
    stack: Vec<GState>,
    tm: Matrix,
    tlm: Matrix,
    path: Vec<(f32, f32, f32, f32)>,
    path_rects: Vec<[f32; 4]>,
    cur: (f32, f32),
    sub_start: (f32, f32),
    warned_fonts: bool,
    page_w: f32,
    page_h: f32,
    stop: bool,
}

fn err_limit(out: &mut PageContent, msg: String) {
    if !out.truncated {
        out.warnings.push(msg);
    }
    out.truncated = true;
}

impl<'a> Interp<'a> {
    /// An interpreter for a page whose crop box is `crop` (user space) and rotation
    /// `rotate` (degrees, a multiple of 90).
    pub(crate) fn new(
        doc: &'a Document,
        fonts: &'a mut FontCache,
        forms: &'a mut FormCache,
        budget: &'a mut Budget,
        limits: InterpLimits,
        crop: [f32; 4],
        rotate: i64,
    ) -> Self {
        let [x0, y0, x1, y1] = crop;
        let r = rotate.rem_euclid(360);
        let (base, w, h) = match r {
            90 => ([0.0, 1.0, 1.0, 0.0, -y0, -x0], y1 - y0, x1 - x0),
            180 => ([-1.0, 0.0, 0.0, 1.0, x1, -y0], x1 - x0, y1 - y0),
            270 => ([0.0, -1.0, -1.0, 0.0, y1, x1], y1 - y0, x1 - x0),
            _ => ([1.0, 0.0, 0.0, -1.0, -x0, y1], x1 - x0, y1 - y0),
        };
        Interp {
            doc,
            fonts,
            forms,
            budget,
            limits,
            out: PageContent {
                size: (w, h),
                ..PageContent::default()
            },
            ops: 0,
            form_stack: Vec::new(),
            gs: GState {
                ctm: base,
                font: None,
                size: 0.0,
                char_sp: 0.0,
                word_sp: 0.0,
                hscale: 1.0,
                leading: 0.0,
                rise: 0.0,
                line_width: 1.0,
            },
            stack: Vec::new(),
            tm: IDENTITY,
            tlm: IDENTITY,
            path: Vec::new(),
            path_rects: Vec::new(),
            cur: (0.0, 0.0),
            sub_start: (0.0, 0.0),
            warned_fonts: false,
            page_w: w,
            page_h: h,
            stop: false,
        }
    }

    /// Runs `content` with `resources`; returns what was shown.
    pub(crate) fn run_page(
        mut self,
        content: &[u8],
        resources: Option<&'a Dictionary>,
    ) -> PageContent {
        self.run(content, resources, 0);
        self.out
    }

    fn run(&mut self, content: &[u8], resources: Option<&'a Dictionary>, depth: usize) {
        let mut lx = Lexer::new(content);
        let mut arena: Vec<u8> = Vec::with_capacity(256);
        let mut args: Vec<Tok> = Vec::with_capacity(16);
        let base_stack = self.stack.len();
        while let Some(t) = lx.next_tok(&mut arena) {
            let Tok::Op(s, e) = t else {
                if args.len() < 4096 {
                    args.push(t);
                }
                continue;
            };
            self.ops += 1;
            if self.ops > self.limits.max_ops {
                err_limit(
                    &mut self.out,
                    format!(
                        "page content runs more than {} operators (max_operators_per_page); the rest of the page is skipped",
                        self.limits.max_ops
                    ),
                );
                self.stop = true;
            }
            if self.stop {
                break;
            }
            let op = lx.op_bytes(s, e);
            if op == b"BI" {
                let _ = lx.skip_inline_image(&mut arena);
                self.image();
            } else {
                self.op(op, &args, &arena, resources, depth);
            }
            args.clear();
            arena.clear();
        }
        // Unbalanced q inside a form or page: restore.
        while self.stack.len() > base_stack {
            if let Some(g) = self.stack.pop() {
                self.gs = g;
            }
        }
    }

    fn op(
        &mut self,
        op: &[u8],
        args: &[Tok],
        arena: &[u8],
        res: Option<&'a Dictionary>,
        depth: usize,
    ) {
        let n = |i: usize| -> f32 {
            match args.get(i) {
                Some(Tok::Num(v)) if v.is_finite() => *v,
                _ => 0.0,
            }
        };
        // Operands counted from the end (operators with too many operands use the last).
        let k = args.len();
        let last = |back: usize| -> f32 {
            if k >= back {
                n(k - back)
            } else {
                0.0
            }
        };
        match op {
            b"q" if self.stack.len() < self.limits.max_depth.max(8) * 8 => {
                self.stack.push(self.gs.clone());
            }
            b"Q" => {
                if let Some(g) = self.stack.pop() {
                    self.gs = g;
                }
            }
            b"cm" => {
                let m = [last(6), last(5), last(4), last(3), last(2), last(1)];
                self.gs.ctm = mul(&m, &self.gs.ctm);
            }
            b"w" => self.gs.line_width = last(1),
            b"BT" => {
                self.tm = IDENTITY;
                self.tlm = IDENTITY;
            }
            b"ET" => {}
            b"Tc" => self.gs.char_sp = last(1),
            b"Tw" => self.gs.word_sp = last(1),
            b"Tz" => self.gs.hscale = last(1) / 100.0,
            b"TL" => self.gs.leading = last(1),
            b"Ts" => self.gs.rise = last(1),
            b"Tf" => {
                self.gs.size = last(1);
                let name = args.iter().rev().find_map(|t| match *t {
                    Tok::Name(s, e) => Some(&arena[s as usize..e as usize]),
                    _ => None,
                });
                self.gs.font = name.and_then(|nm| self.font(res, nm));
            }
            b"Td" => {
                self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, last(2), last(1)], &self.tlm);
                self.tm = self.tlm;
            }
            b"TD" => {
                self.gs.leading = -last(1);
                self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, last(2), last(1)], &self.tlm);
                self.tm = self.tlm;
            }
            b"Tm" => {
                self.tlm = [last(6), last(5), last(4), last(3), last(2), last(1)];
                self.tm = self.tlm;
            }
            b"T*" => self.next_line(),
            b"Tj" => {
                if let Some(Tok::Str(s, e)) = args.last() {
                    self.show(&arena[*s as usize..*e as usize]);
                }
            }
            b"'" => {
                self.next_line();
                if let Some(Tok::Str(s, e)) = args.last() {
                    self.show(&arena[*s as usize..*e as usize]);
                }
            }
            b"\"" => {
                if k >= 3 {
                    self.gs.word_sp = n(k - 3);
                    self.gs.char_sp = n(k - 2);
                }
                self.next_line();
                if let Some(Tok::Str(s, e)) = args.last() {
                    self.show(&arena[*s as usize..*e as usize]);
                }
            }
            b"TJ" => {
                for t in args {
                    match *t {
                        Tok::Str(s, e) => self.show(&arena[s as usize..e as usize]),
                        Tok::Num(v) if v.is_finite() => {
                            let adj = -v / 1000.0 * self.gs.size;
                            let vertical = self.gs.font.as_ref().is_some_and(|f| f.1.vertical);
                            if vertical {
                                self.tm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, adj], &self.tm);
                            } else {
                                self.tm =
                                    mul(&[1.0, 0.0, 0.0, 1.0, adj * self.gs.hscale, 0.0], &self.tm);
                            }
                        }
                        _ => {}
                    }
                }
            }
            b"Do" => {
                if let Some(Tok::Name(s, e)) = args.last() {
                    self.xobject(res, &arena[*s as usize..*e as usize], depth);
                }
            }
            // Paths, for ruling lines.
            b"m" => {
                self.cur = (last(2), last(1));
                self.sub_start = self.cur;
            }
            b"l" => {
                let p = (last(2), last(1));
                if self.path.len() < 4096 {
                    self.path.push((self.cur.0, self.cur.1, p.0, p.1));
                }
                self.cur = p;
            }
            b"c" => self.cur = (last(2), last(1)),
            b"v" | b"y" => self.cur = (last(2), last(1)),
            b"h" => {
                if self.cur != self.sub_start && self.path.len() < 4096 {
                    self.path
                        .push((self.cur.0, self.cur.1, self.sub_start.0, self.sub_start.1));
                }
                self.cur = self.sub_start;
            }
            b"re" => {
                let (x, y, w, h) = (last(4), last(3), last(2), last(1));
                if self.path_rects.len() < 4096 {
                    self.path_rects.push([x, y, x + w, y + h]);
                }
                self.cur = (x, y);
                self.sub_start = self.cur;
            }
            b"S" | b"s" => self.paint(true, false),
            b"f" | b"F" | b"f*" => self.paint(false, true),
            b"B" | b"B*" | b"b" | b"b*" => self.paint(true, true),
            b"n" => {
                self.path.clear();
                self.path_rects.clear();
            }
            _ => {}
        }
    }

    fn next_line(&mut self) {
        self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -self.gs.leading], &self.tlm);
        self.tm = self.tlm;
    }

    fn font(&mut self, res: Option<&'a Dictionary>, name: &[u8]) -> Option<(u32, Rc<Font>)> {
        let doc = self.doc;
        let fonts = res.and_then(|r| get_dict(doc, r, b"Font"));
        let entry = fonts.and_then(|f| f.get(name).ok());
        let Some(entry) = entry else {
            if !self.warned_fonts {
                self.warned_fonts = true;
                self.out.warnings.push(format!(
                    "font /{} is not in the page resources; its text is read as Latin-1",
                    String::from_utf8_lossy(name)
                ));
            }
            return Some(self.fallback_font());
        };
        let id = ref_id(entry);
        if let Some(id) = id {
            if let Some(f) = self.fonts.by_id.get(&id) {
                return Some(f.clone());
            }
        }
        let dict = as_dict(doc, entry)?;
        let f = Rc::new(font::load(doc, dict, self.budget, &mut self.out.warnings));
        self.fonts.next += 1;
        let entry = (self.fonts.next, f);
        if let Some(id) = id {
            self.fonts.by_id.insert(id, entry.clone());
        }
        Some(entry)
    }

    fn fallback_font(&mut self) -> (u32, Rc<Font>) {
        let key = (u32::MAX, u16::MAX);
        if let Some(f) = self.fonts.by_id.get(&key) {
            return f.clone();
        }
        self.fonts.next += 1;
        let e = (self.fonts.next, Rc::new(Font::fallback()));
        self.fonts.by_id.insert(key, e.clone());
        e
    }

    fn show(&mut self, bytes: &[u8]) {
        let Some((fid, font)) = self.gs.font.clone() else {
            if bytes.is_empty() {
                return;
            }
            let f = self.fallback_font();
            self.gs.font = Some(f);
            return self.show(bytes);
        };
        let fs = self.gs.size;
        let th = self.gs.hscale;
        let mut pos = 0;
        // Text space → page space, recomputed per glyph through tm.
        while pos < bytes.len() {
            let code = font.next_code(bytes, pos);
            pos += code.len;
            let w0 = font.width(code.code);
            let mut adv = w0 * fs + self.gs.char_sp;
            if font.is_word_space(code) {
                adv += self.gs.word_sp;
            }
            if font.vertical {
                let m = mul(&self.tm, &self.gs.ctm);
                self.emit(&font, fid, code.code, &m, fs, fs);
                let ty = -(fs + self.gs.char_sp);
                self.tm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, ty], &self.tm);
                continue;
            }
            let m = mul(&self.tm, &self.gs.ctm);
            self.emit(&font, fid, code.code, &m, w0 * fs * th, fs);
            self.tm = mul(&[1.0, 0.0, 0.0, 1.0, adv * th, 0.0], &self.tm);
        }
    }

    fn emit(&mut self, font: &Font, fid: u32, code: u32, m: &Matrix, w: f32, fs: f32) {
        if self.out.glyphs.len() >= self.limits.max_glyphs {
            err_limit(
                &mut self.out,
                format!(
                    "page shows more than {} glyphs (max_glyphs_per_page); the rest is skipped",
                    self.limits.max_glyphs
                ),
            );
            self.stop = true;
            return;
        }
        let (ox, oy) = apply(m, 0.0, self.gs.rise);
        let (dx, dy) = apply_lin(m, 1.0, 0.0);
        let (ux, uy) = apply_lin(m, 0.0, fs);
        let size = (ux * ux + uy * uy).sqrt() * font.size_scale;
        if !(size.is_finite() && ox.is_finite() && oy.is_finite()) || size < 0.01 {
            return;
        }
        // Off the page: readers drop it.
        let slack = 1.0;
        if ox < -slack || oy < -slack || ox > self.page_w + slack || oy > self.page_h + slack {
            return;
        }
        let rot: u8 = if dx.abs() >= dy.abs() {
            if dx >= 0.0 {
                0
            } else {
                2
            }
        } else if dy >= 0.0 {
            1
        } else {
            3
        };
        // Line frame: u along the writing direction, v downwards across lines.
        let (u, v) = frame(rot, ox, oy);
        let wlen = w * (dx * dx + dy * dy).sqrt();
        let start = self.out.chars.len() as u32;
        font.text(code, &mut self.out.chars);
        let len = (self.out.chars.len() as u32 - start).min(255) as u8;
        let space = len == 1 && matches!(self.out.chars[start as usize], ' ' | '\u{a0}');
        if len == 0 {
            // Unknown glyph: still occupies room (keeps words apart) but shows nothing.
            self.out.chars.truncate(start as usize);
        }
        let (u0, u1) = if wlen >= 0.0 {
            (u, u + wlen)
        } else {
            (u + wlen, u)
        };
        self.out.glyphs.push(Glyph {
            u0,
            u1,
            base: v,
            top: v - font.ascent * size,
            bottom: v - font.descent * size,
            size,
            rot,
            space: space || len == 0,
            start,
            len: if space { 0 } else { len },
            font: fid,
        });
    }

    fn paint(&mut self, stroke: bool, fill: bool) {
        let ctm = self.gs.ctm;
        let lw = {
            let (a, b) = apply_lin(&ctm, self.gs.line_width, 0.0);
            (a * a + b * b).sqrt().max(0.1)
        };
        let add = |x0: f32, y0: f32, x1: f32, y1: f32, out: &mut Vec<Rule>| {
            let (ax, ay) = apply(&ctm, x0, y0);
            let (bx, by) = apply(&ctm, x1, y1);
            let r = Rule {
                x0: ax.min(bx),
                y0: ay.min(by),
                x1: ax.max(bx),
                y1: ay.max(by),
            };
            if out.len() < 20_000 && r.x0.is_finite() && r.y1.is_finite() {
                out.push(r);
            }
        };
        for &[x0, y0, x1, y1] in &self.path_rects {
            if fill {
                // Thin filled rectangles are rules.
                let (a, b) = apply_lin(&ctm, x1 - x0, 0.0);
                let (c, d) = apply_lin(&ctm, 0.0, y1 - y0);
                let w = (a * a + b * b).sqrt();
                let h = (c * c + d * d).sqrt();
                if w.min(h) <= 3.0 && w.max(h) > 3.0 {
                    add(x0, y0, x1, y1, &mut self.out.rules);
                    continue;
                }
            }
            if stroke {
                add(x0, y0, x1, y0, &mut self.out.rules);
                add(x0, y1, x1, y1, &mut self.out.rules);
                add(x0, y0, x0, y1, &mut self.out.rules);
                add(x1, y0, x1, y1, &mut self.out.rules);
            }
        }
        if stroke {
            for &(x0, y0, x1, y1) in &self.path {
                let (ax, ay) = apply(&ctm, x0, y0);
                let (bx, by) = apply(&ctm, x1, y1);
                if (ax - bx).abs() < 1.0 || (ay - by).abs() < 1.0 {
                    add(x0, y0, x1, y1, &mut self.out.rules);
                }
            }
        }
        let _ = lw;
        self.path.clear();
        self.path_rects.clear();
    }

    fn image(&mut self) {
        let m = self.gs.ctm;
        let pts = [
            apply(&m, 0.0, 0.0),
            apply(&m, 1.0, 0.0),
            apply(&m, 0.0, 1.0),
            apply(&m, 1.0, 1.0),
        ];
        let x0 = pts.iter().map(|p| p.0).fold(f32::INFINITY, f32::min);
        let x1 = pts.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max);
        let y0 = pts.iter().map(|p| p.1).fold(f32::INFINITY, f32::min);
        let y1 = pts.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
        if x0.is_finite() && y1.is_finite() && self.out.images.len() < 10_000 {
            self.out.images.push([x0, y0, x1, y1]);
        }
    }

    fn xobject(&mut self, res: Option<&'a Dictionary>, name: &[u8], depth: usize) {
        let doc = self.doc;
        let Some(xobjs) = res.and_then(|r| get_dict(doc, r, b"XObject")) else {
            return;
        };
        let Ok(entry) = xobjs.get(name) else { return };
        let id = ref_id(entry);
        let Some(Object::Stream(stream)) = Some(crate::objects::deref(doc, entry)) else {
            return;
        };
        match get_name(doc, &stream.dict, b"Subtype") {
            Some(b"Image") => self.image(),
            Some(b"Form") => {
                if depth + 1 > self.limits.max_depth {
                    err_limit(
                        &mut self.out,
                        format!(
                            "form XObjects nest deeper than {} (max_depth); deeper ones are skipped",
                            self.limits.max_depth
                        ),
                    );
                    return;
                }
                if let Some(id) = id {
                    if self.form_stack.contains(&id) {
                        self.out.warnings.push(format!(
                            "form XObject {} {} R draws itself (a cycle); skipped",
                            id.0, id.1
                        ));
                        return;
                    }
                }
                let data = match id.and_then(|id| self.forms.get(&id).cloned()) {
                    Some(d) => d,
                    None => match decode::decode(doc, stream, self.budget) {
                        Ok((d, _)) => {
                            let d = Rc::new(d);
                            if let Some(id) = id {
                                self.forms.insert(id, d.clone());
                            }
                            d
                        }
                        Err(e) => {
                            if e.is_limit() {
                                err_limit(&mut self.out, format!("form XObject not read: {e}"));
                            } else {
                                self.out
                                    .warnings
                                    .push(format!("form XObject not read: {e}"));
                            }
                            return;
                        }
                    },
                };
                let saved = self.gs.clone();
                let saved_tm = (self.tm, self.tlm);
                if let Some(m) = crate::objects::get_array(doc, &stream.dict, b"Matrix") {
                    let v = nums(doc, m);
                    if v.len() >= 6 {
                        let m = [v[0], v[1], v[2], v[3], v[4], v[5]];
                        self.gs.ctm = mul(&m, &self.gs.ctm);
                    }
                }
                let form_res = get(doc, &stream.dict, b"Resources")
                    .and_then(|o| as_dict(doc, o))
                    .or(res);
                if let Some(id) = id {
                    self.form_stack.push(id);
                }
                let base_stack = self.stack.len();
                self.run(&data, form_res, depth + 1);
                self.stack.truncate(base_stack);
                if id.is_some() {
                    self.form_stack.pop();
                }
                self.gs = saved;
                (self.tm, self.tlm) = saved_tm;
            }
            _ => {}
        }
    }
}

/// Page space → line frame of writing direction `rot`.
#[inline]
pub(crate) fn frame(rot: u8, x: f32, y: f32) -> (f32, f32) {
    match rot {
        0 => (x, y),
        1 => (y, -x),
        2 => (-x, -y),
        _ => (-y, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices() {
        let t = [1.0, 0.0, 0.0, 1.0, 10.0, 20.0];
        let s = [2.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        assert_eq!(apply(&mul(&t, &s), 1.0, 1.0), (22.0, 42.0));
        assert_eq!(apply(&mul(&s, &t), 1.0, 1.0), (12.0, 22.0));
    }
}
