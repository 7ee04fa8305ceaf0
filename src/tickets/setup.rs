//! What a desk is made from: the configuration file, the tracker's token from AWS Secrets
//! Manager, and the AWS permissions the incidents of a configuration need.

use super::{TicketError, findings};
use crate::domain::config::Config;

/// A tracker's credentials read from AWS Secrets Manager (`tickets.token_secret`): the secret
/// is the token itself, or a JSON object with `token` (and, for Jira, `email`).
#[derive(Clone)]
pub struct Secret {
    pub token: String,
    pub email: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// The secret's text as a token or a JSON object holding one.
    fn parse(id: &str, text: &str) -> Result<Secret, TicketError> {
        let text = text.trim();
        let secret = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => Secret {
                token: o
                    .get("token")
                    .and_then(|v| v.as_str())
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        TicketError::Config(format!(
                            "tickets.token_secret {id}: the secret is a JSON object without a `token` string\n  hint: store the token alone, or {{\"token\": \"...\"}} (Jira: with \"email\")"
                        ))
                    })?
                    .to_string(),
                email: o.get("email").and_then(|v| v.as_str()).map(str::to_string),
            },
            _ if !text.is_empty() => Secret {
                token: text.to_string(),
                email: None,
            },
            _ => {
                return Err(TicketError::Config(format!(
                    "tickets.token_secret {id}: the secret is empty\n  hint: store the tracker's token in it"
                )));
            }
        };
        crate::domain::scrub::register_secret(&secret.token);
        Ok(secret)
    }

    /// Reads secret `id` (a name or an ARN) with `base`'s identity.
    pub async fn read(base: &aws_config::SdkConfig, id: &str) -> Result<Secret, TicketError> {
        let out = aws_sdk_secretsmanager::Client::new(base)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                TicketError::Config(format!(
                    "tickets.token_secret {id}: {}\n  hint: the identity needs secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key)",
                    findings::described("GetSecretValue", &e)
                ))
            })?;
        let text = out.secret_string().ok_or_else(|| {
            TicketError::Config(format!(
                "tickets.token_secret {id}: the secret has no text (a binary secret)\n  hint: store the token as the secret's text"
            ))
        })?;
        Secret::parse(id, text)
    }
}

/// Which configuration file counts: `path` (from `--config`), else `FIREBREAK_CONFIG`, else
/// `firebreak.yaml` in the working directory if there is one.
pub fn config_path(path: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    path.map(std::path::Path::to_path_buf)
        .or_else(|| std::env::var_os("FIREBREAK_CONFIG").map(Into::into))
        .or_else(|| {
            let p = std::path::PathBuf::from("firebreak.yaml");
            p.exists().then_some(p)
        })
}

/// The configuration: `path` (from `--config`), else `FIREBREAK_CONFIG`, both of which must
/// exist; else `firebreak.yaml` in the working directory if there is one; else none.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let Some(file) = config_path(path) else {
        return Ok(Config::default());
    };
    let name = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|e| {
        anyhow::anyhow!("{name}: {e}\n  hint: --config (or FIREBREAK_CONFIG) names firebreak's configuration file")
    })?;
    match crate::domain::config::check(&text, &name) {
        (Some(config), warnings) => {
            for w in warnings {
                crate::say!("{w}");
            }
            Ok(config)
        }
        (None, diags) => {
            let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
            Err(anyhow::anyhow!("{}", lines.join("\n")))
        }
    }
}

/// The AWS permissions the incidents of `config` need beside the playbooks' (what the desk,
/// the investigation and closing the loop call), sorted; none without tickets or triage.
pub fn permissions(config: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !config.tickets.any() && config.triage.is_empty() {
        return out;
    }
    if config.tickets.any() && config.tickets.investigate {
        out.extend([
            "cloudtrail:LookupEvents",
            "iam:ListAccountAliases",
            "guardduty:ListDetectors",
            "guardduty:ListFindings",
            "guardduty:GetFindings",
            "autoscaling:DescribeAutoScalingInstances",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
        ]);
    }
    if config.tickets.any() {
        out.push("organizations:ListTagsForResource");
    }
    if config.tickets.any() && config.tickets.token_secret.is_some() {
        out.push("secretsmanager:GetSecretValue");
    }
    if config.tickets.any() && config.tickets.resolve_findings {
        out.extend([
            "guardduty:ListDetectors",
            "guardduty:GetFindings",
            "guardduty:ArchiveFindings",
            "guardduty:UpdateFindingsFeedback",
            "securityhub:BatchUpdateFindings",
        ]);
    }
    if config.triage.iter().any(|r| r.suppress) {
        out.extend([
            "guardduty:ListDetectors",
            "guardduty:GetFilter",
            "guardduty:CreateFilter",
        ]);
    }
    out.sort_unstable();
    out.dedup();
    out
}
