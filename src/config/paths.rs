//! Where opsdeck keeps its files. Tests and the sandbox override every
//! location through `OPSDECK_HOME` so they never touch the user's own dirs.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> Paths {
        if let Some(home) = std::env::var_os("OPSDECK_HOME").map(PathBuf::from) {
            return Paths::under(home);
        }
        match directories::ProjectDirs::from("dev", "opsdeck", "opsdeck") {
            Some(d) => Paths {
                config_dir: d.config_dir().to_path_buf(),
                data_dir: d.data_dir().to_path_buf(),
                state_dir: d
                    .state_dir()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_else(|| d.data_local_dir().to_path_buf()),
            },
            None => Paths::under(std::env::temp_dir().join("opsdeck")),
        }
    }

    pub fn under(root: PathBuf) -> Paths {
        Paths {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            state_dir: root.join("state"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn themes_dir(&self) -> PathBuf {
        self.config_dir.join("themes")
    }

    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("opsdeck.log")
    }
}
