//! One file per subcommand.

pub(crate) mod dlq;
pub(crate) mod fleet;
pub(crate) mod inspect;
pub(crate) mod inspect_locks;
pub(crate) mod memory;
pub(crate) mod process;
pub(crate) mod result;
pub(crate) mod status;
pub(crate) mod submit;

use daa_shared::model::Requirements;

/// Parse `--require text,tables,classify,entities,embeddings`.
pub(crate) fn parse_requirements(list: Option<&str>) -> anyhow::Result<Requirements> {
    let Some(list) = list else {
        return Ok(Requirements::default());
    };
    let mut r = Requirements {
        extract_text: false,
        extract_tables: false,
        classify_content: false,
        extract_entities: false,
        embeddings: false,
    };
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "text" => r.extract_text = true,
            "tables" => r.extract_tables = true,
            "classify" => r.classify_content = true,
            "entities" => r.extract_entities = true,
            "embeddings" => r.embeddings = true,
            other => anyhow::bail!(
                "unknown requirement {other:?} (text, tables, classify, entities, embeddings)"
            ),
        }
    }
    Ok(r)
}
