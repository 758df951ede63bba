//! The rows of a comparison, typed from `--models`, `--server` and `--target`: swarmlab
//! models, the user's own servers (started here from a command), and external servers that
//! are already running.

use anyhow::anyhow;
use swarmlab_report::Design;
use swarmlab_server::Model;
use swarmlab_swarm::Target as Url;

/// One row of the comparison: a swarmlab model (started fresh for every phase) or an external
/// server that is already running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `swarmlab serve --model M`.
    Model(Model),
    /// `--server NAME=CMD`: the user's own server, started fresh for every phase from `CMD`
    /// (`{port}` in it, or `$PORT`), checked first.
    Command {
        /// Its row's name.
        name: String,
        /// The shell command that starts it.
        command: String,
    },
    /// `--target NAME=URL[@PID]`: measured where it is; its CPU and memory only with a pid.
    External {
        /// Its row's name.
        name: String,
        /// Where it listens.
        url: String,
        /// Its process, if given.
        pid: Option<u32>,
    },
}

impl Target {
    /// The row's design, as the report names it.
    pub fn design(&self) -> Design {
        match self {
            Target::Model(m) => Design::Model(*m),
            Target::External { name, .. } | Target::Command { name, .. } => {
                Design::External(name.clone())
            }
        }
    }
}

/// `--models` (comma-separated names, `all`, or `none`), then every `--server`, then every
/// `--target`. Names must differ: each names a row, its CSV files and its log.
pub fn parse(models: &str, servers: &[String], targets: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut out: Vec<Target> = parse_models(models)?
        .into_iter()
        .map(Target::Model)
        .collect();
    for s in servers {
        out.push(parse_server(s)?);
    }
    for t in targets {
        out.push(parse_target(t)?);
    }
    if out.is_empty() {
        return Err(anyhow!(
            "--models none leaves nothing to compare: add --server NAME=CMD (or --target)"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &out {
        let name = t.design().name().to_string();
        if !seen.insert(name.clone()) {
            return Err(anyhow!(
                "two rows are named '{name}': give each its own name"
            ));
        }
    }
    Ok(out)
}

/// `NAME=CMD`.
fn parse_server(s: &str) -> anyhow::Result<Target> {
    let (name, command) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--server '{s}' must be NAME=CMD"))?;
    // a model's name is fine: the student's `single` beside (or instead of) swarmlab's is
    // the point; only two rows of one name are refused
    check_file_name(name, &format!("--server '{s}'"))?;
    if command.trim().is_empty() {
        return Err(anyhow!("--server '{s}' needs a command"));
    }
    if !command.contains("{port}") && !command.contains("PORT") {
        return Err(anyhow!(
            "--server '{s}': the command must take its port from {{port}} or $PORT"
        ));
    }
    Ok(Target::Command {
        name: name.to_string(),
        command: command.to_string(),
    })
}

/// An external row's name: a file name, and not a model's.
fn check_name(name: &str, what: &str) -> anyhow::Result<()> {
    check_file_name(name, what)?;
    if name.parse::<Model>().is_ok() {
        return Err(anyhow!(
            "{what}: {name} is a model's name; give yours another"
        ));
    }
    Ok(())
}

/// A row's name: a file name too (its CSVs, its log).
fn check_file_name(name: &str, what: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        return Err(anyhow!("{what} needs a name"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(anyhow!(
            "{what}: a name is letters, digits, '-', '_' and '.' (it names files)"
        ));
    }
    Ok(())
}

fn parse_models(list: &str) -> anyhow::Result<Vec<Model>> {
    if list == "all" {
        return Ok(Model::ALL.to_vec());
    }
    if list == "none" {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|m| m.trim().parse::<Model>().map_err(|e| anyhow!("{e}")))
        .collect()
}

/// `NAME=URL[@PID]`.
fn parse_target(t: &str) -> anyhow::Result<Target> {
    let (name, rest) = t
        .split_once('=')
        .ok_or_else(|| anyhow!("--target '{t}' must be NAME=URL[@PID]"))?;
    let (url, pid) = match rest.rsplit_once('@') {
        Some((u, p)) => (
            u,
            Some(
                p.parse::<u32>()
                    .map_err(|_| anyhow!("--target '{t}': '{p}' is not a pid"))?,
            ),
        ),
        None => (rest, None),
    };
    Url::parse(url)?;
    check_name(name, &format!("--target '{t}'"))?;
    Ok(Target::External {
        name: name.to_string(),
        url: url.to_string(),
        pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_typed_and_checked() {
        let targets = parse(
            "single,epoll",
            &[],
            &["nginx=http://127.0.0.1:80@42".into()],
        )
        .unwrap();
        assert_eq!(
            targets,
            [
                Target::Model(Model::Single),
                Target::Model(Model::Epoll),
                Target::External {
                    name: "nginx".into(),
                    url: "http://127.0.0.1:80".into(),
                    pid: Some(42)
                }
            ]
        );
        assert_eq!(targets[2].design(), Design::External("nginx".into()));
        for (bad, says) in [
            ("nourl", "must be NAME=URL[@PID]"),
            ("=http://127.0.0.1:1", "needs a name"),
            ("x=http://127.0.0.1:1@me", "is not a pid"),
            ("epoll=http://127.0.0.1:1", "is a model's name"),
        ] {
            let err = parse("all", &[], &[bad.into()]).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = parse("single,bogus", &[], &[]).unwrap_err().to_string();
        assert!(err.contains("unknown model 'bogus'"), "{err}");
    }

    #[test]
    fn servers_are_commands_with_a_port() {
        let t = parse("none", &["mine=python3 s.py {port}".into()], &[]).unwrap();
        assert_eq!(
            t,
            [Target::Command {
                name: "mine".into(),
                command: "python3 s.py {port}".into()
            }]
        );
        for (bad, says) in [
            ("nocmd", "must be NAME=CMD"),
            ("x=", "needs a command"),
            ("x=python3 s.py 8000", "{port} or $PORT"),
            ("a/b=python3 s.py {port}", "it names files"),
        ] {
            let err = parse("none", &[bad.into()], &[]).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        // a model's name, when that model is not a row too
        assert!(parse("none", &["fork=x {port}".into()], &[]).is_ok());
        let err = parse("fork", &["fork=x {port}".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("two rows are named 'fork'"), "{err}");
        let twice = ["a=x {port}".to_string(), "a=y {port}".to_string()];
        assert!(parse("none", &twice, &[])
            .unwrap_err()
            .to_string()
            .contains("two rows"));
        assert!(parse("none", &[], &[])
            .unwrap_err()
            .to_string()
            .contains("nothing to compare"));
    }
}
