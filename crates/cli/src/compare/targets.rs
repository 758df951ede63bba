//! The rows of a comparison, typed from `--models` and `--target`: swarmlab models, and
//! external servers that are already running.

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
            Target::External { name, .. } => Design::External(name.clone()),
        }
    }
}

/// `--models` (comma-separated names, or `all`), then every `--target`.
pub fn parse(models: &str, targets: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut out: Vec<Target> = parse_models(models)?
        .into_iter()
        .map(Target::Model)
        .collect();
    for t in targets {
        out.push(parse_target(t)?);
    }
    Ok(out)
}

fn parse_models(list: &str) -> anyhow::Result<Vec<Model>> {
    if list == "all" {
        return Ok(Model::ALL.to_vec());
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
    if name.is_empty() {
        return Err(anyhow!("--target '{t}' needs a name"));
    }
    if name.parse::<Model>().is_ok() {
        return Err(anyhow!(
            "--target '{t}': {name} is a model's name; give the external server another"
        ));
    }
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
        let targets = parse("single,epoll", &["nginx=http://127.0.0.1:80@42".into()]).unwrap();
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
            let err = parse("all", &[bad.into()]).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = parse("single,bogus", &[]).unwrap_err().to_string();
        assert!(err.contains("unknown model 'bogus'"), "{err}");
    }
}
