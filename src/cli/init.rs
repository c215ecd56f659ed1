//! `collate init DIR`: a new installation folder, with the schemas this program was built with.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;
use crate::error::FatalError;
use crate::outfile::write_atomically;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to set up (created if need be): it gets schemas/, inbox/, outbox/ and a README.
    #[arg(default_value = ".")]
    folder: PathBuf,
}

/// The schemas `collate` was built with, as (path under `schemas/`, text).
const SCHEMAS: &[(&str, &str)] = &[
    (
        "dashboard.toml",
        include_str!("../../schemas/dashboard.toml"),
    ),
    (
        "departments.toml",
        include_str!("../../schemas/departments.toml"),
    ),
    (
        "indicators.toml",
        include_str!("../../schemas/indicators.toml"),
    ),
    ("rules.toml", include_str!("../../schemas/rules.toml")),
    (
        "templates/cc.toml",
        include_str!("../../schemas/templates/cc.toml"),
    ),
    (
        "templates/fin.toml",
        include_str!("../../schemas/templates/fin.toml"),
    ),
    (
        "templates/historical.toml",
        include_str!("../../schemas/templates/historical.toml"),
    ),
    (
        "templates/hr.toml",
        include_str!("../../schemas/templates/hr.toml"),
    ),
    (
        "templates/ld.toml",
        include_str!("../../schemas/templates/ld.toml"),
    ),
    (
        "templates/piu.toml",
        include_str!("../../schemas/templates/piu.toml"),
    ),
    (
        "templates/psd.toml",
        include_str!("../../schemas/templates/psd.toml"),
    ),
    (
        "templates/sd.toml",
        include_str!("../../schemas/templates/sd.toml"),
    ),
    (
        "plans/delivery-plan-2018-19.toml",
        include_str!("../../schemas/plans/delivery-plan-2018-19.toml"),
    ),
    (
        "plans/delivery-plan-2022.toml",
        include_str!("../../schemas/plans/delivery-plan-2022.toml"),
    ),
    (
        "plans/improvement-plan.toml",
        include_str!("../../schemas/plans/improvement-plan.toml"),
    ),
];

/// The README left in a new installation: the owner's routine, in the owner's terms.
const FOLDER_README: &str = include_str!("init_readme.txt");

pub fn init(args: &InitArgs) -> anyhow::Result<u8> {
    let folder = &args.folder;
    let schemas = folder.join("schemas");
    if schemas.exists() {
        return Err(FatalError::folder(
            &schemas,
            "already exists: this folder is an installation already (nothing was changed)",
        )
        .into());
    }
    for (name, text) in SCHEMAS {
        write_atomically(&schemas.join(name), text.as_bytes())?;
    }
    for empty in ["inbox", "outbox"] {
        create_folder(&folder.join(empty))?;
    }
    write_atomically(&folder.join("README.txt"), FOLDER_README.as_bytes())?;
    println!(
        "A new installation is ready in {}.\n\
         Next: save the departments' returns into {} and run `collate run` in that folder;\n\
         the dashboard is then {}. README.txt there says what each folder is for.",
        folder.display(),
        folder.join("inbox").display(),
        folder.join("outbox").join("dashboard.xlsx").display()
    );
    let installed = crate::schema::load(&schemas)?;
    for gap in installed.mail_gaps() {
        println!("Before sending mail: {gap}.");
    }
    Ok(exit::ACCEPTED)
}

fn create_folder(path: &Path) -> Result<(), FatalError> {
    std::fs::create_dir_all(path)
        .map_err(|error| FatalError::folder_failed(path, "cannot create it", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_of_the_project_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut on_disk = Vec::new();
        for folder in ["", "templates", "plans"] {
            for entry in std::fs::read_dir(root.join(folder)).expect("schemas folder") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "toml") {
                    let relative = path.strip_prefix(&root).expect("under schemas");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut built_in: Vec<String> =
            SCHEMAS.iter().map(|(name, _)| (*name).to_owned()).collect();
        built_in.sort();
        assert_eq!(built_in, on_disk, "add new schema files to SCHEMAS");
    }
}
