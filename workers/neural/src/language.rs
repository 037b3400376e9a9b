//! Language detection with whatlang (trigram profiles of 69 languages, no model files),
//! reported as ISO 639-1 codes where one exists (ISO 639-3 otherwise).

use whatlang::Lang;

/// Characters looked at: whatlang is linear in its input and a few pages decide.
const SAMPLE_CHARS: usize = 20_000;

/// A detected language.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// ISO 639-1 code (`en`, `de`...), or ISO 639-3 when the language has none.
    pub code: String,
    /// whatlang's confidence, 0..=1.
    pub confidence: f64,
}

/// The language of `text`, when whatlang is at least `min_confidence` sure.
pub fn detect(text: &str, min_confidence: f64) -> Option<Detected> {
    let sample = match text.char_indices().nth(SAMPLE_CHARS) {
        Some((b, _)) => &text[..b],
        None => text,
    };
    let info = whatlang::detect(sample)?;
    if info.confidence() < min_confidence {
        return None;
    }
    Some(Detected {
        code: iso639_1(info.lang()).to_string(),
        confidence: info.confidence(),
    })
}

/// ISO 639-1 code of a whatlang language (its ISO 639-3 code when there is none).
pub fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        #[allow(unreachable_patterns)]
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_languages_are_detected() {
        let cases = [
            ("en", "The quick brown fox jumps over the lazy dog while the farmer watches from the porch."),
            ("de", "Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zuschaut."),
            ("fr", "Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde."),
            ("es", "El rápido zorro marrón salta sobre el perro perezoso mientras el granjero mira desde el porche."),
            ("ru", "Быстрая коричневая лиса прыгает через ленивую собаку, пока фермер смотрит с крыльца."),
        ];
        for (code, text) in cases {
            let d = detect(text, 0.5).unwrap_or_else(|| panic!("nothing for {code}"));
            assert_eq!(d.code, code, "{text}");
        }
    }

    #[test]
    fn nothing_is_invented_for_noise() {
        assert_eq!(detect("", 0.5), None);
        assert_eq!(detect("1234 5678 !!!", 0.5), None);
    }
}
