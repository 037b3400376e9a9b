//! Pattern recognisers: what they find, what they must not find, and character offsets.

#![allow(clippy::unwrap_used)] // Test helpers, like the tests themselves, may unwrap.

use daa_neural::entities::EntityRecognizer;

fn found(text: &str) -> Vec<(String, String)> {
    EntityRecognizer::default()
        .recognise(text)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.text))
        .collect()
}

fn has(text: &str, kind: &str, want: &str) {
    let f = found(text);
    assert!(
        f.iter().any(|(k, t)| k == kind && t == want),
        "expected {kind} {want:?} in {text:?}, found {f:?}"
    );
}

fn lacks(text: &str, kind: &str) {
    let f = found(text);
    assert!(
        f.iter().all(|(k, _)| k != kind),
        "no {kind} expected in {text:?}, found {f:?}"
    );
}

#[test]
fn emails() {
    has(
        "Write to jane.doe+news@mail.example.co.uk today.",
        "email",
        "jane.doe+news@mail.example.co.uk",
    );
    has("(contact: ops@acme.io)", "email", "ops@acme.io");
    lacks("user@localhost and @handle", "email");
}

#[test]
fn urls() {
    has(
        "See https://example.com/a/b?x=1&y=2.",
        "url",
        "https://example.com/a/b?x=1&y=2",
    );
    has(
        "(docs at www.rust-lang.org/learn)",
        "url",
        "www.rust-lang.org/learn",
    );
    has(
        "Link: https://en.wikipedia.org/wiki/Rust_(programming_language), read it",
        "url",
        "https://en.wikipedia.org/wiki/Rust_(programming_language)",
    );
    lacks("http:// nothing here", "url");
}

#[test]
fn phones() {
    has("Call +1 (555) 123-4567 now", "phone", "+1 (555) 123-4567");
    has("Tel. +49 30 1234567.", "phone", "+49 30 1234567");
    has("office: 0049 69 1234 5678", "phone", "0049 69 1234 5678");
    has("or 555-123-4567", "phone", "555-123-4567");
    has("Fax (030) 1234 5678", "phone", "(030) 1234 5678");
    lacks("in 2019 2020 2021 we grew", "phone");
    lacks("order 12-34", "phone");
    lacks("on 2024-03-15", "phone");
}

#[test]
fn dates() {
    has("Due 2024-03-15.", "date", "2024-03-15");
    has("am 15.03.2024 fällig", "date", "15.03.2024");
    has("on 03/15/2024", "date", "03/15/2024");
    has("signed on 15 March 2024 in Paris", "date", "15 March 2024");
    has("the 1st of May, 2023", "date", "1st of May, 2023");
    has("March 15, 2024", "date", "March 15, 2024");
    has("since Sept. 2021", "date", "Sept. 2021");
    lacks("2024-13-45 is no day", "date");
    lacks("31.02.2024", "date");
    lacks("29 February 2023", "date");
    has("29 February 2024", "date", "29 February 2024");
}

#[test]
fn times() {
    has("leaves at 14:35 from platform 7", "time", "14:35");
    has("starts 9:30 am sharp", "time", "9:30 am");
    has("until 5pm.", "time", "5pm");
    lacks("score 25:61", "time");
}

#[test]
fn money() {
    has("It costs $1,234.56 in total.", "money", "$1,234.56");
    has("Total amount due: €2,627.52", "money", "€2,627.52");
    has("revenue of €4.5 million", "money", "€4.5 million");
    has("paid 12.50 EUR", "money", "12.50 EUR");
    has("a fee of USD 1,000", "money", "USD 1,000");
    has("Preis: 1.234,56 €", "money", "1.234,56 €");
    has(
        "raised forty 40 million dollars",
        "money",
        "40 million dollars",
    );
    lacks("12 apples", "money");
}

#[test]
fn percentages() {
    has("VAT 19% applies", "percentage", "19%");
    has("grew by 12.5 percent", "percentage", "12.5 percent");
    has("down -3,2 % today", "percentage", "-3,2 %");
}

#[test]
fn ibans_need_a_valid_checksum() {
    has(
        "IBAN DE89 3704 0044 0532 0130 00.",
        "iban",
        "DE89 3704 0044 0532 0130 00",
    );
    has("GB82WEST12345698765432", "iban", "GB82WEST12345698765432");
    has(
        "FR14 2004 1010 0505 0001 3M02 606 EUR",
        "iban",
        "FR14 2004 1010 0505 0001 3M02 606",
    );
    lacks("DE89 3704 0044 0532 0130 01", "iban");
    lacks("XX89 3704 0044 0532 0130 00", "iban");
}

#[test]
fn isbns_need_a_valid_check_digit() {
    has("ISBN 978-3-16-148410-0", "isbn", "ISBN 978-3-16-148410-0");
    has(
        "ISBN-13: 978-0-306-40615-7.",
        "isbn",
        "ISBN-13: 978-0-306-40615-7",
    );
    has("ISBN 0-306-40615-2", "isbn", "ISBN 0-306-40615-2");
    has("ISBN: 080442957X", "isbn", "ISBN: 080442957X");
    has("see 9780306406157", "isbn", "9780306406157");
    lacks("ISBN 978-3-16-148410-1", "isbn");
    lacks("0306406152", "isbn"); // ISBN-10 without the ISBN prefix: too ambiguous
}

#[test]
fn payment_cards_need_luhn() {
    has(
        "card 4111 1111 1111 1111 exp",
        "credit_card",
        "4111 1111 1111 1111",
    );
    has("5500-0000-0000-0004", "credit_card", "5500-0000-0000-0004");
    lacks("4111 1111 1111 1112", "credit_card");
}

#[test]
fn ip_addresses() {
    has("server 192.168.1.20 is down", "ip_address", "192.168.1.20");
    lacks("version 1.2.3.4.5", "ip_address");
    lacks("999.1.1.1", "ip_address");
}

#[test]
fn offsets_are_characters_and_spans_do_not_overlap() {
    let text = "Größe: €12 — Zürich 2024-03-15, Müller <m@ü.example>? m.mueller@example.de 😀 +41 44 668 18 00";
    let ents = EntityRecognizer::default().recognise(text).unwrap();
    let chars: Vec<char> = text.chars().collect();
    for e in &ents {
        let s: String = chars[e.start..e.end].iter().collect();
        assert_eq!(s, e.text);
    }
    for w in ents.windows(2) {
        assert!(w[0].end <= w[1].start, "{:?} overlaps {:?}", w[0], w[1]);
    }
    let kinds: Vec<&str> = ents.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["money", "date", "email", "phone"], "{ents:?}");
}

#[test]
fn kinds_can_be_restricted() {
    let only = ["email".to_string()];
    let r = EntityRecognizer::new(Some(&only), None, 0.5);
    let e = r.recognise("a@b.io on 2024-01-02").unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].kind, "email");
}
