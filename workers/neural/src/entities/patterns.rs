//! Pattern recognisers: regular expressions for the candidates, then a validator per kind
//! (calendar checks, digit counts, IBAN mod-97, ISBN and Luhn check digits, balanced
//! brackets in URLs...), so that what is reported is what it claims to be.

use regex::Regex;

/// A recognised span (byte offsets into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Entity kind.
    pub(crate) kind: &'static str,
    /// Byte offset of the first byte.
    pub(crate) start: usize,
    /// Byte offset after the last byte.
    pub(crate) end: usize,
    /// Rank when spans overlap: the higher wins, then the longer.
    pub(crate) priority: u8,
}

const MONTHS: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const CURRENCY_SYMBOL: &str = r"(?:(?:US|A|C|NZ|HK|S|R)?\$|€|£|¥|₹|₽|₩|₪|₫|฿|₺|₴|₦|₱|CHF|Fr\.)";
const CURRENCY_CODE: &str = r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|RMB|INR|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR|RUB|KRW|SGD|HKD|NZD|TRY|ILS|AED|SAR|THB|IDR|PHP)";
const CURRENCY_WORD: &str =
    r"(?:dollars?|euros?|pounds?(?: sterling)?|yen|francs?|rupees?|yuan|cents?)";
const AMOUNT: &str = r"\d{1,3}(?:[,.'\u{00A0}\u{202F} ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?";
const MULTIPLIER: &str = r"(?:\s?(?:k|m|bn|mn|million|billion|thousand|trillion)\b)?";

/// The compiled recognisers. Build once, use from any thread.
#[derive(Debug)]
pub(crate) struct Patterns {
    email: Regex,
    url: Regex,
    phone: Regex,
    date_iso: Regex,
    date_numeric: Regex,
    date_day_month: Regex,
    date_month_day: Regex,
    time: Regex,
    money_before: Regex,
    money_after: Regex,
    percentage: Regex,
    iban: Regex,
    isbn: Regex,
    card: Regex,
    ip: Regex,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, covered by the tests: failing to compile
    // one is a programming error.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("entity pattern compiles")
}

impl Patterns {
    /// Compile every pattern.
    pub(crate) fn new() -> Self {
        Self {
            email: re(
                r"(?i)[a-z0-9._%+\-]+@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}",
            ),
            url: re(r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'`{}|\\^]+"#),
            phone: re(
                r"(?:\+|\b00)\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?)(?:[ .\-]?\d{1,5}){1,5}|\(\d{2,5}\)[ .\-]?\d{2,5}(?:[ .\-]?\d{2,5}){0,3}|\b\d{2,5}(?:[ .\-]\d{2,5}){1,4}\b",
            ),
            date_iso: re(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
            date_numeric: re(r"\b(\d{1,2})([./\-])(\d{1,2})([./\-])(\d{4}|\d{2})\b"),
            date_day_month: re(&format!(
                r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?({MONTHS})\.?,?\s+(\d{{4}})\b"
            )),
            date_month_day: re(&format!(
                r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b|\b({MONTHS})\.?\s+(\d{{4}})\b"
            )),
            time: re(
                r"(?i)\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?(?:[ap]m\b|[ap]\.m\.))?|\b(?:1[0-2]|0?[1-9])\s?(?:[ap]m\b|[ap]\.m\.)",
            ),
            money_before: re(&format!(
                r"(?:{CURRENCY_SYMBOL}|\b{CURRENCY_CODE})\s?-?(?:{AMOUNT}){MULTIPLIER}"
            )),
            money_after: re(&format!(
                r"(?i)\b(?:{AMOUNT}){MULTIPLIER}\s?(?:{CURRENCY_SYMBOL}|(?-i:{CURRENCY_CODE})\b|{CURRENCY_WORD}\b)"
            )),
            percentage: re(r"(?i)[-+]?\b\d+(?:[.,]\d+)?\s?(?:%|percent\b|per cent\b|pct\b)"),
            iban: re(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
            isbn: re(
                r"(?i)\bISBN(?:-1[03])?:?\s*(97[89][\- ]?)?(\d[\d\- ]{8,15}[\dX])\b|\b(97[89][\- ]?\d{1,5}[\- ]?\d{1,7}[\- ]?\d{1,7}[\- ]?\d)\b",
            ),
            card: re(r"\b\d(?:[ \-]?\d){12,18}\b"),
            ip: re(
                r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
            ),
        }
    }

    /// Every candidate span in `text` that passes its validator, overlapping spans
    /// included (see [`resolve`]).
    pub(crate) fn find_all(&self, text: &str) -> Vec<Found> {
        let mut out = Vec::new();
        let mut push = |kind, start, end, priority| {
            if end > start {
                out.push(Found {
                    kind,
                    start,
                    end,
                    priority,
                })
            }
        };
        for m in self.email.find_iter(text) {
            let (s, e) = trim_email(text, m.start(), m.end());
            if valid_email(&text[s..e]) {
                push("email", s, e, 7);
            }
        }
        for m in self.url.find_iter(text) {
            let e = trim_url(m.as_str()) + m.start();
            if e - m.start() > 4 && text[m.start()..e].contains('.') {
                push("url", m.start(), e, 6);
            }
        }
        for m in self.iban.find_iter(text) {
            if let Some(e) = iban_end(text, m.start(), m.end()) {
                push("iban", m.start(), e, 9);
            }
        }
        for c in self.isbn.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let digits: String = [c.get(1), c.get(2), c.get(3)]
                .iter()
                .flatten()
                .flat_map(|g| g.as_str().chars())
                .filter(|ch| ch.is_ascii_digit() || *ch == 'X' || *ch == 'x')
                .collect();
            let prefixed = m.as_str().len() >= 4 && m.as_str()[..4].eq_ignore_ascii_case("isbn");
            let ok = match digits.len() {
                13 => valid_isbn13(&digits),
                10 => prefixed && valid_isbn10(&digits),
                _ => false,
            };
            if ok {
                push("isbn", m.start(), m.end(), 8);
            }
        }
        for m in self.card.find_iter(text) {
            let digits: Vec<u8> = m
                .as_str()
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect();
            if valid_card(&digits) {
                push("credit_card", m.start(), m.end(), 7);
            }
        }
        for m in self.ip.find_iter(text) {
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            let dotted = |c: Option<char>| matches!(c, Some(c) if c == '.' || c.is_ascii_digit());
            let continues = after == Some('.') && dotted(text[m.end() + 1..].chars().next());
            if !(dotted(before) || continues) {
                push("ip_address", m.start(), m.end(), 5);
            }
        }
        for c in self.date_iso.captures_iter(text) {
            let (y, mo, d) = (num(&c, 1), num(&c, 2), num(&c, 3));
            if valid_ymd(y, mo, d) {
                if let Some(m) = c.get(0) {
                    push("date", m.start(), m.end(), 5);
                }
            }
        }
        for c in self.date_numeric.captures_iter(text) {
            if c.get(2).map(|m| m.as_str()) != c.get(4).map(|m| m.as_str()) {
                continue; // mixed separators: 1.2-2024 is no date
            }
            let (a, b, y) = (num(&c, 1), num(&c, 3), num(&c, 5));
            let y = if y < 100 { 2000 + y } else { y };
            if valid_ymd(y, b, a) || valid_ymd(y, a, b) {
                if let Some(m) = c.get(0) {
                    push("date", m.start(), m.end(), 5);
                }
            }
        }
        for c in self.date_day_month.captures_iter(text) {
            let (d, y) = (num(&c, 1), num(&c, 3));
            let mo = c.get(2).map_or(0, |m| month_number(m.as_str()));
            if valid_ymd(y, mo, d) {
                if let Some(m) = c.get(0) {
                    push("date", m.start(), m.end(), 5);
                }
            }
        }
        for c in self.date_month_day.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let ok = if let Some(month) = c.get(1) {
                valid_ymd(num(&c, 3), month_number(month.as_str()), num(&c, 2))
            } else {
                // "March 2024": a month and a plausible year, not the tail of a day
                // ("29 February 2023" is no date, and "February 2023" in it is none either).
                let y = num(&c, 5);
                let before = text[..m.start()].trim_end();
                let before = before
                    .strip_suffix("of")
                    .or_else(|| before.strip_suffix("OF"))
                    .unwrap_or(before)
                    .trim_end()
                    .trim_end_matches(|ch: char| ch.is_ascii_alphabetic() || ch == '.');
                let after_day = before.ends_with(|ch: char| ch.is_ascii_digit());
                (1000..=2999).contains(&y) && !after_day
            };
            if ok {
                push("date", m.start(), m.end(), 5);
            }
        }
        for m in self.time.find_iter(text) {
            let after = text[m.end()..].chars().next();
            if !matches!(after, Some(c) if c.is_ascii_digit()) {
                push("time", m.start(), m.end(), 4);
            }
        }
        for m in self.money_before.find_iter(text) {
            push(
                "money",
                m.start(),
                trim_end_space(text, m.start(), m.end()),
                4,
            );
        }
        for m in self.money_after.find_iter(text) {
            push("money", m.start(), m.end(), 4);
        }
        for m in self.percentage.find_iter(text) {
            push("percentage", m.start(), m.end(), 4);
        }
        for m in self.phone.find_iter(text) {
            let s = m.as_str();
            let digits = s.bytes().filter(u8::is_ascii_digit).count();
            let marked = s.starts_with('+') || s.starts_with("00") || s.starts_with('(');
            let separators = s
                .bytes()
                .filter(|b| matches!(b, b' ' | b'-' | b'.'))
                .count();
            let years = s
                .split([' ', '-', '.'])
                .all(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20")));
            let before = text[..m.start()].chars().next_back();
            let glued = matches!(before, Some(c) if c.is_alphanumeric() || c == '.' || c == ',');
            let ok = !glued
                && if marked {
                    (7..=15).contains(&digits)
                } else {
                    (9..=15).contains(&digits) && separators >= 1 && !years
                };
            if ok {
                push("phone", m.start(), m.end(), 2);
            }
        }
        out
    }
}

/// Keep the best of overlapping spans (higher priority, then longer, then earlier),
/// sorted by position.
pub(crate) fn resolve(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: std::collections::BTreeMap<usize, Found> = std::collections::BTreeMap::new();
    for f in found {
        let before_overlaps = kept
            .range(..f.end)
            .next_back()
            .is_some_and(|(_, k)| k.end > f.start);
        if !before_overlaps {
            kept.insert(f.start, f);
        }
    }
    kept.into_values().collect()
}

fn num(c: &regex::Captures<'_>, i: usize) -> u32 {
    c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0)
}

fn month_number(name: &str) -> u32 {
    let n = name.to_ascii_lowercase();
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    M.iter()
        .position(|m| n.starts_with(m))
        .map_or(0, |i| i as u32 + 1)
}

/// Whether `y-m-d` is a real calendar day (years 1000-2999).
pub(crate) fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    if !(1000..=2999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

fn trim_email(text: &str, start: usize, end: usize) -> (usize, usize) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start_matches(['.', '-', '+', '%']).len();
    (start + lead, end)
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.len() <= 253
}

/// Length of `url` without trailing punctuation (closing brackets stay when they close
/// one opened inside the URL).
fn trim_url(url: &str) -> usize {
    let mut end = url.len();
    loop {
        let Some(c) = url[..end].chars().next_back() else {
            return end;
        };
        let trim = match c {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '*' => true,
            ')' => url[..end].matches('(').count() < url[..end].matches(')').count(),
            ']' => url[..end].matches('[').count() < url[..end].matches(']').count(),
            _ => false,
        };
        if !trim {
            return end;
        }
        end -= c.len_utf8();
    }
}

fn trim_end_space(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// IBAN lengths by country (ISO 13616 registry).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" | "ST" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "BY" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "SV" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        "RU" => 33,
        _ => return None,
    })
}

/// Where the IBAN starting at `start` ends, if the candidate holds one with a valid
/// country length and mod-97 check; the match may run on into the next word.
fn iban_end(text: &str, start: usize, end: usize) -> Option<usize> {
    let cand = &text[start..end];
    let len = iban_length(&cand[..2])?;
    let mut compact = String::with_capacity(len);
    let mut stop = None;
    for (i, c) in cand.char_indices() {
        if c == ' ' {
            continue;
        }
        compact.push(c);
        if compact.len() == len {
            stop = Some(start + i + c.len_utf8());
            break;
        }
    }
    let stop = stop?;
    // The IBAN must not continue with more alphanumerics right after.
    if text[stop..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    valid_iban(&compact).then_some(stop)
}

/// ISO 7064 mod-97 check of a compact IBAN.
pub(crate) fn valid_iban(iban: &str) -> bool {
    if iban.len() < 15
        || !iban
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for b in tail.bytes().chain(head.bytes()) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// ISBN-10 check digit (weights 10..1, X = 10, sum divisible by 11).
pub(crate) fn valid_isbn10(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in b.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'X' | b'x' if i == 9 => 10,
            _ => return false,
        };
        sum += v * (10 - i as u32);
    }
    sum.is_multiple_of(11)
}

/// ISBN-13 / EAN-13 check digit (weights 1, 3 alternating, prefix 978 or 979).
pub(crate) fn valid_isbn13(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 13
        || !b.iter().all(u8::is_ascii_digit)
        || !(d.starts_with("978") || d.starts_with("979"))
    {
        return false;
    }
    let sum: u32 = b
        .iter()
        .enumerate()
        .map(|(i, &c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card number: 13-19 digits, a known network prefix, Luhn check.
pub(crate) fn valid_card(d: &[u8]) -> bool {
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let prefix = |n: usize| d[..n].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let network = d[0] == 4
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || matches!(prefix(2), 34 | 37 | 35 | 65)
        || prefix(4) == 6011;
    if !network {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
