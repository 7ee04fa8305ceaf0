//! Incidents and their tickets (issue 17) on GitHub Issues and Jira: the real binary against
//! moto for AWS and the suite's stateful tracker test server (`scripts/tracker-emulator`). Every
//! GitHub request firebreak sends to it is checked against GitHub's published OpenAPI description (npm
//! `@octokit/openapi`, fetched by `scripts/ensure-github-openapi`): the operation exists, its
//! path parameters have their types, its JSON body validates against the operation's request
//! schema and names no member the schema does not declare. A Jira request is checked against
//! the Jira Cloud REST API v3 reference's documented examples (`check_jira_request` says which).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{
    Account, finding_file, firebreak_env, moto, root, s3_client, stderr, stdout, unique,
};

const TOKEN: &str = "ghp_FirebreakTestToken0000000000000000000";
const SLACK_TOKEN: &str = "xoxb-0000000000-FirebreakSlackTestToken";
const JIRA_EMAIL: &str = "firebreak@example.com";
const JIRA_TOKEN: &str = "ATATT3xFfGF0FirebreakJiraTestToken000";

/// The ticket trackers' test server (GitHub, Jira and Slack), stopped when dropped.
pub(crate) struct TrackerServer {
    server: crate::support::StandIn,
    pub url: String,
}

impl TrackerServer {
    pub(crate) fn start() -> TrackerServer {
        let server = crate::support::StandIn::start(
            Command::new("python3")
                .arg(root().join("scripts/tracker-emulator"))
                .args([
                    "--port",
                    "0",
                    "--token",
                    TOKEN,
                    "--jira-email",
                    JIRA_EMAIL,
                    "--jira-token",
                    JIRA_TOKEN,
                ]),
            "the tracker test server",
        );
        let url = server.url.clone();
        TrackerServer { server, url }
    }

    fn get(&self, path: &str) -> Value {
        self.server.call(path, None)
    }

    fn post(&self, path: &str, body: Value) {
        self.server.call(path, Some(body));
    }

    pub(crate) fn requests(&self) -> Vec<Value> {
        self.get("/_emulator/requests")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The issues of `repo`, with their comments.
    pub(crate) fn issues(&self, repo: &str) -> Vec<Value> {
        self.get("/_emulator/issues")[repo]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The environment that points firebreak at this server, with a configuration naming
    /// `repo`.
    pub(crate) fn env(&self, repo: &str) -> Vec<(String, String)> {
        self.env_with(repo, "")
    }

    /// [`TrackerServer::env`] with more configuration (`triage:`, `owners:`) after `tickets:`.
    pub(crate) fn env_with(&self, repo: &str, more: &str) -> Vec<(String, String)> {
        // The emulator serves no CloudTrail LookupEvents: the investigation is tested on its own
        // (investigation.rs) and once here (a_failed_investigation_is_said_on_the_ticket).
        let file = crate::support::config_file(&format!(
            "tickets:\n  investigate: false\n  github:\n    repo: {repo}\n{more}"
        ));
        vec![
            ("GITHUB_TOKEN".into(), TOKEN.into()),
            ("GITHUB_API_URL".into(), self.url.clone()),
            ("FIREBREAK_CONFIG".into(), file.display().to_string()),
        ]
    }
}

/// GitHub's OpenAPI description of api.github.com.
fn openapi() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let path: PathBuf = root().join(".tools/github-openapi/api.github.com.23.0.2.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run ./scripts/ensure-github-openapi (./scripts/test does)",
                path.display()
            )
        });
        serde_json::from_str(&text).unwrap()
    })
}

/// Resolves a local `$ref`.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
        None => v,
    }
}

/// Checks one recorded request against the description; returns what is wrong.
fn check_request(r: &Value) -> Vec<String> {
    let doc = openapi();
    let method = r["method"].as_str().unwrap().to_lowercase();
    let path = r["path"].as_str().unwrap();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut problems = Vec::new();
    let found = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(template, item)| {
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            let matches = t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(a, b)| a.starts_with('{') || a == b);
            (matches && item.get(&method).is_some()).then_some((template, item, t))
        });
    let Some((template, item, t)) = found else {
        return vec![format!(
            "{method} {path}: no such operation in GitHub's API"
        )];
    };
    let op = &item[&method];
    let params: Vec<&Value> = item["parameters"]
        .as_array()
        .into_iter()
        .chain(op["parameters"].as_array())
        .flatten()
        .map(|p| deref(doc, p))
        .collect();
    for (name, value) in t.iter().zip(&segments) {
        let Some(name) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) else {
            continue;
        };
        let Some(p) = params
            .iter()
            .find(|p| p["name"] == name && p["in"] == "path")
        else {
            problems.push(format!(
                "{template}: path parameter {name} is not described"
            ));
            continue;
        };
        if p["schema"]["type"] == "integer" && value.parse::<u64>().is_err() {
            problems.push(format!("{path}: {name} must be an integer"));
        }
    }
    if let Some(body) = r["body"].as_object() {
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        let schema = deref(doc, schema);
        let declared = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for k in body.keys() {
            if !declared.contains_key(k) {
                problems.push(format!(
                    "{method} {path}: member `{k}` is not in the request schema"
                ));
            }
        }
        let mut full = schema.clone();
        full["components"] = doc["components"].clone();
        let validator = jsonschema::validator_for(&full).unwrap();
        for e in validator.iter_errors(&Value::Object(body.clone())) {
            problems.push(format!("{method} {path}: {e} at {}", e.instance_path()));
        }
    }
    if r["api_version"] != "2022-11-28" {
        problems.push(format!(
            "{method} {path}: X-GitHub-Api-Version is {}",
            r["api_version"]
        ));
    }
    if r["accept"] != "application/vnd.github+json" {
        problems.push(format!("{method} {path}: Accept is {}", r["accept"]));
    }
    if r["authorized"] != true {
        problems.push(format!("{method} {path}: not sent with the token"));
    }
    problems
}

/// Checks one recorded Jira request against the Jira Cloud platform REST API v3 reference's
/// documented request examples and field descriptions (Atlassian publishes no OpenAPI
/// description in a package registry): "Create issue" (`fields.project.key`,
/// `fields.summary` of at most 255 characters, `fields.issuetype.name`, `fields.description`
/// and a comment's `body` in Atlassian Document Format, `fields.labels` without spaces,
/// `fields.assignee.accountId`), "Add comment" and "Get transitions" / "Transition issue"
/// (`transition.id`, a string); basic authentication with an API token.
fn check_jira_request(r: &Value) -> Vec<String> {
    let method = r["method"].as_str().unwrap();
    let path = r["path"].as_str().unwrap();
    let mut problems = Vec::new();
    let adf = |v: &Value, what: &str, problems: &mut Vec<String>| {
        let ok = v["type"] == "doc"
            && v["version"] == 1
            && v["content"].as_array().is_some_and(|c| {
                c.iter().all(|n| {
                    ["paragraph", "heading", "codeBlock"]
                        .contains(&n["type"].as_str().unwrap_or(""))
                        && n["content"].as_array().is_some_and(|t| {
                            t.iter().all(|t| {
                                t["type"] == "text"
                                    && t["text"].as_str().is_some_and(|x| !x.is_empty())
                            })
                        })
                        && (n["type"] != "heading"
                            || n["attrs"]["level"]
                                .as_u64()
                                .is_some_and(|l| (1..=6).contains(&l)))
                })
            });
        if !ok {
            problems.push(format!(
                "{method} {path}: {what} is not an ADF document: {v}"
            ));
        }
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["rest", "api", "3", "issue"]) => {
            let f = &r["body"]["fields"];
            if !f["project"]["key"].is_string() || !f["issuetype"]["name"].is_string() {
                problems.push(format!(
                    "create issue: project.key and issuetype.name are required: {f}"
                ));
            }
            if !f["summary"]
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.chars().count() <= 255)
            {
                problems.push(format!(
                    "create issue: summary must be 1-255 characters: {}",
                    f["summary"]
                ));
            }
            adf(&f["description"], "fields.description", &mut problems);
            if !f["labels"].as_array().is_some_and(|l| {
                l.iter()
                    .all(|l| l.as_str().is_some_and(|l| !l.contains(' ')))
            }) {
                problems.push(format!(
                    "create issue: labels are strings without spaces: {}",
                    f["labels"]
                ));
            }
            if !f["assignee"].is_null() && !f["assignee"]["accountId"].is_string() {
                problems.push("create issue: assignee is {accountId}".into());
            }
        }
        ("POST", ["rest", "api", "3", "issue", _, "comment"]) => {
            adf(&r["body"]["body"], "the comment's body", &mut problems)
        }
        ("GET", ["rest", "api", "3", "issue", _, "transitions"]) => {}
        ("POST", ["rest", "api", "3", "issue", _, "transitions"]) => {
            if !r["body"]["transition"]["id"].is_string() {
                problems.push(format!(
                    "transition: transition.id must be a string: {}",
                    r["body"]
                ));
            }
        }
        _ => problems.push(format!(
            "{method} {path}: not a Jira call firebreak should make"
        )),
    }
    if r["authorized"] != true {
        problems.push(format!("{method} {path}: not sent with the API token"));
    }
    problems
}

/// Checks one recorded Slack call against the Web API reference's documented arguments (Slack
/// publishes its OpenAPI description on GitHub only, in no package registry):
/// `chat.postMessage` takes `channel` and `text`, and `thread_ts` (a string) for a reply;
/// `chat.update` takes `channel`, `ts` and `text`; a bot token as a bearer token.
fn check_slack_request(r: &Value) -> Vec<String> {
    let path = r["path"].as_str().unwrap();
    let b = &r["body"];
    let text = |k: &str| b[k].as_str().is_some_and(|v| !v.is_empty());
    let mut problems = Vec::new();
    let known: &[&str] = match path {
        "/api/chat.postMessage" => &[
            "channel",
            "text",
            "thread_ts",
            "reply_broadcast",
            "unfurl_links",
        ],
        "/api/chat.update" => &["channel", "ts", "text"],
        _ => return vec![format!("{path}: not a Slack method firebreak should call")],
    };
    let required: &[&str] = if path == "/api/chat.update" {
        &["channel", "ts", "text"]
    } else {
        &["channel", "text"]
    };
    for k in required {
        if !text(k) {
            problems.push(format!("{path}: `{k}` is required, a string"));
        }
    }
    for k in b
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if !known.contains(&k.as_str()) {
            problems.push(format!(
                "{path}: `{k}` is not an argument firebreak should send"
            ));
        }
    }
    if !b["thread_ts"].is_null() && !b["thread_ts"].is_string() {
        problems.push(format!("{path}: thread_ts is a string"));
    }
    if r["method"] != "POST" || r["authorized"] != true {
        problems.push(format!("{path}: POST with the bot token"));
    }
    problems
}

/// Every request the server saw is one its tracker describes, sent as it describes it.
pub(crate) fn assert_requests_follow_the_description(gh: &TrackerServer) {
    let requests = gh.requests();
    assert!(!requests.is_empty(), "firebreak sent the tracker nothing");
    let problems: Vec<String> = requests
        .iter()
        .flat_map(|r| match r["path"].as_str() {
            Some(p) if p.starts_with("/rest/api/3/") => check_jira_request(r),
            Some(p) if p.starts_with("/api/chat.") => check_slack_request(r),
            _ => check_request(r),
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

fn with(account: &Account, extra: &[(String, String)], args: &[&str]) -> std::process::Output {
    let env: Vec<(&str, &str)> = account
        .env
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    firebreak_env(&moto().endpoint, args, &env)
}

/// An evidence bucket and a finding queue made by `setup` in `account` (named after `prefix`),
/// and the account as `serve` sees it, ticketing on `gh`'s `repo`: the bucket, the queue's URL
/// and that account.
fn served_by(
    gh: &TrackerServer,
    account: &Account,
    prefix: &str,
    repo: &str,
) -> (String, String, Account) {
    let bucket = unique(prefix);
    let url = crate::serve::setup(
        account,
        &bucket,
        &unique(&format!("{prefix}-findings")),
        &[],
    );
    let served = account.with_env(gh.env(repo));
    (bucket, url, served)
}

/// The finding file `f` as JSON, for an EventBridge event.
fn json_of(f: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
}

/// `firebreak run` of finding `f` into `bucket`, which must succeed.
fn contain(
    account: &Account,
    env: &[(String, String)],
    f: &std::path::Path,
    bucket: &str,
) -> std::process::Output {
    let out = with(
        account,
        env,
        &[
            "run",
            f.to_str().unwrap(),
            "--evidence",
            &format!("s3://{bucket}"),
            "--retention-days",
            "1",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn finding(account: &Account, id: &str, user: &str, key: &str, count: u64) -> PathBuf {
    finding_file("iam-user-tor.json", |f| {
        f["id"] = id.into();
        f["accountId"] = account.id.as_str().into();
        f["service"]["count"] = count.into();
        f["updatedAt"] = format!("2026-12-06T10:{:02}:00.000Z", count).into();
        f["resource"]["accessKeyDetails"]["userName"] = user.into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
    })
}

/// Everything in the bucket, as text.
pub(crate) async fn bucket_text(account: &Account, bucket: &str) -> String {
    let s3 = s3_client(&account.config);
    let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut all = String::new();
    for o in list.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        all.push_str(o.key().unwrap());
        all.push_str(&String::from_utf8_lossy(&body));
    }
    all
}

#[tokio::test]
async fn a_contained_finding_gets_one_ticket_opened_then_closed_and_reopened_when_it_comes_back() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("tickets");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    // The account's alias is in the ticket.
    aws_sdk_iam::Client::new(&account.config)
        .create_account_alias()
        .account_alias(format!("acme-prod-{}", &account.id[6..]))
        .send()
        .await
        .unwrap();
    let repo = "acme/incidents";
    let env = gh.env(repo);
    let id = unique("ticketed-finding");
    let evidence = format!("s3://{bucket}");
    let first = finding(&account, &id, &user, &key, 1);
    let out = contain(&account, &env, &first, &bucket);
    assert!(
        stderr(&out).contains("ticket: https://github.example/acme/incidents/issues/1"),
        "{}",
        stderr(&out)
    );

    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let issue = &issues[0];
    assert_eq!(issue["labels"], json!(["firebreak"]));
    assert_eq!(
        (issue["state"].as_str(), issue["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
    let body = issue["body"].as_str().unwrap();
    assert!(body.contains(&id), "the body names the finding: {body}");
    assert!(
        body.contains(&format!(
            "| Account | {} (acme-prod-{}) |",
            account.id,
            &account.id[6..]
        )),
        "{body}"
    );
    for what in [
        "UnauthorizedAccess:IAMUser/TorIPCaller",
        &account.id,
        &key,
        "us-east-1",
    ] {
        assert!(body.contains(what), "the body says {what}: {body}");
    }
    let title = issue["title"].as_str().unwrap();
    assert!(
        title.contains("UnauthorizedAccess:IAMUser/TorIPCaller"),
        "{title}"
    );
    let comments = issue["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let outcome = comments[0]["body"].as_str().unwrap();
    assert!(outcome.contains("Containment succeeded"), "{outcome}");
    // How to undo each change, with the step's own values; the playbook's runbook.
    assert!(
        outcome.contains(&format!(
            "`aws iam update-access-key --user-name {user} --access-key-id {key} --status Active` (it was Active)"
        )),
        "{outcome}"
    );
    assert!(
        outcome.contains(&format!(
            "`aws iam detach-user-policy --user-name {user} --policy-arn arn:aws:iam::aws:policy/AWSDenyAll`"
        )),
        "{outcome}"
    );
    assert!(
        body.contains("## Runbook\n\n1. Ask the key's owner"),
        "{body}"
    );
    assert!(
        outcome.contains(&format!("firebreak audit {evidence} --execution")),
        "{outcome}"
    );

    // The same finding, updated by GuardDuty (count 2), run again: the same ticket, reopened
    // with what changed, then closed again by the new containment.
    let again = finding(&account, &id, &user, &key, 2);
    let out = contain(&account, &env, &again, &bucket);
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "never a second ticket: {issues:#?}");
    let comments = crate::support::comment_bodies(&issues[0]);
    assert_eq!(comments.len(), 3, "{comments:#?}");
    assert!(
        comments[1].contains("seen it 2 time(s) (1 before)"),
        "{}",
        comments[1]
    );
    assert!(comments[1].contains("reopened"), "{}", comments[1]);
    assert_eq!(issues[0]["state"], "closed");
    let states: Vec<&str> = gh
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .map(|r| r["body"]["state"].as_str().unwrap_or_default().to_string())
        .map(|s| if s == "open" { "open" } else { "closed" })
        .collect();
    assert_eq!(states, ["closed", "open", "closed"]);

    assert_requests_follow_the_description(&gh);
    // The incident's record is in the bucket and passes the audit beside the evidence; the
    // tracker's token is nowhere.
    let all = bucket_text(&account, &bucket).await;
    assert!(all.contains(&format!("_incidents/{}/{id}/opened.json", account.id)));
    assert!(all.contains(&format!("_incidents/{}/{id}/ticket.json", account.id)));
    assert!(!all.contains(TOKEN), "the token is in the evidence");
    // Closing the loop in GuardDuty and Security Hub is tried and its outcome recorded (the
    // emulator serves neither ArchiveFindings nor BatchUpdateFindings: see close_loop.rs).
    assert!(all.contains("\"kind\": \"finding_status\""), "{all}");
    let audit = with(
        &account,
        &env,
        &["audit", &evidence, "--retention-days", "1"],
    );
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}{}",
        stdout(&audit),
        stderr(&audit)
    );
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
}

#[tokio::test]
async fn a_rate_limited_or_briefly_down_tracker_loses_no_ticket_and_never_stops_containment() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("tickets-limited");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let repo = "acme/limited";
    let env = gh.env(repo);
    // GitHub's secondary rate limit on the first three writes (403 twice, then 429, with
    // Retry-After), then a server error.
    gh.post(
        "/_emulator/faults",
        json!({"status": 403, "times": 2, "secondary": true, "retry_after": 1}),
    );
    gh.post(
        "/_emulator/faults",
        json!({"status": 429, "times": 1, "secondary": true, "retry_after": 1}),
    );
    gh.post("/_emulator/faults", json!({"status": 502, "times": 1}));
    let id = unique("limited-finding");
    let f = finding(&account, &id, &user, &key, 1);
    contain(&account, &env, &f, &bucket);
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0]["state"], "closed");
    let posts = gh
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == format!("/repos/{repo}/issues"))
        .count();
    assert_eq!(posts, 5, "four refused tries, then the one that opened it");

    // A tracker that does not answer at all: containment is done all the same, and the
    // failure is in the incident's record.
    let env: Vec<(String, String)> = gh
        .env(repo)
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "GITHUB_API_URL" => (k, "http://127.0.0.1:9".to_string()),
            _ => (k, v),
        })
        .collect();
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let id = unique("untracked-finding");
    let f = finding(&account, &id, &user, &key, 1);
    let out = contain(&account, &env, &f, &bucket);
    assert!(stderr(&out).contains("not written"), "{}", stderr(&out));
    let iam = aws_sdk_iam::Client::new(&account.config);
    assert_eq!(
        crate::serve::keys_of(&iam, &user).await,
        ["Inactive"],
        "contained although no ticket could be written"
    );
    let all = bucket_text(&account, &bucket).await;
    assert!(all.contains(&format!("_incidents/{}/{id}/", account.id)) && all.contains("unwritten"));
    assert!(!all.contains(TOKEN));
    assert_requests_follow_the_description(&gh);
}

#[test]
fn a_bad_configuration_is_refused_with_its_place_before_anything_runs() {
    let dir = std::env::temp_dir().join(unique("firebreak-bad-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("firebreak.yaml");
    std::fs::write(&file, "tickets:\n  github:\n    repo: nope\n").unwrap();
    let f = root().join("tests/findings/iam-user-tor.json");
    let out = firebreak_env(
        &moto().endpoint,
        &[
            "run",
            f.to_str().unwrap(),
            "--config",
            file.to_str().unwrap(),
            "--evidence",
            "s3://nothing",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("firebreak.yaml:3:11: error[FB020"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&file, "tickets:\n  github:\n    repo: acme/x\n").unwrap();
    let out = firebreak_env(
        &moto().endpoint,
        &[
            "run",
            f.to_str().unwrap(),
            "--config",
            file.to_str().unwrap(),
            "--evidence",
            "s3://nothing",
        ],
        &[("GITHUB_TOKEN", "")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GITHUB_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_description_check_finds_what_github_would_refuse() {
    let bad = json!({"method": "PATCH", "path": "/repos/a/b/issues/x",
        "body": {"state": "shut", "colour": 1}, "api_version": "2022-11-28",
        "accept": "application/vnd.github+json", "authorized": true});
    let p = check_request(&bad);
    assert!(p.iter().any(|p| p.contains("must be an integer")), "{p:#?}");
    assert!(p.iter().any(|p| p.contains("`colour`")), "{p:#?}");
    assert!(p.iter().any(|p| p.contains("shut")), "{p:#?}");
    let unknown = json!({"method": "DELETE", "path": "/repos/a/b/nothing", "api_version": "2022-11-28",
        "accept": "application/vnd.github+json", "authorized": true});
    assert!(check_request(&unknown)[0].contains("no such operation"));
}

/// Five deliveries of one finding (GuardDuty's re-sent updates), read by two `serve` processes
/// at once: contained once, one ticket, closed, its other comments saying the finding came
/// again.
#[tokio::test]
async fn five_deliveries_read_by_two_servers_make_one_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let repo = "acme/served";
    let (bucket, url, served) = served_by(&gh, &account, "tickets-serve", repo);
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let id = unique("served-finding");
    let events = aws_sdk_eventbridge::Client::new(&account.config);
    for count in 1..=5 {
        let f = finding(&account, &id, &user, &key, count);
        crate::serve::put_event(&events, &json_of(&f)).await;
    }
    let limit = std::time::Duration::from_secs(120);
    let a = crate::serve::serve(&served, &url, &bucket, &["--concurrency", "4"]);
    let b = crate::serve::serve(&served, &url, &bucket, &["--concurrency", "4"]);
    let (code_a, log_a) = crate::serve::finish(a, limit);
    let (code_b, log_b) = crate::serve::finish(b, limit);
    let logs = format!("{log_a}\n{log_b}");
    assert_eq!((code_a, code_b), (Some(0), Some(0)), "{logs}");
    assert!(!logs.contains(TOKEN), "the token is in the log");

    let issues = gh.issues(repo);
    assert_eq!(
        issues.len(),
        1,
        "one ticket for five deliveries: {issues:#?}\n{logs}"
    );
    assert_eq!(issues[0]["state"], "closed", "{logs}");
    let comments = crate::support::comment_bodies(&issues[0]);
    let outcomes = comments
        .iter()
        .filter(|c| c.starts_with("## Containment succeeded"))
        .count();
    assert_eq!(outcomes, 1, "contained once: {comments:#?}");
    assert!(
        comments
            .iter()
            .all(|c| c.starts_with("## Containment succeeded") || c.contains("came again")),
        "{comments:#?}"
    );
    assert_requests_follow_the_description(&gh);
}

/// Triage rules decide: an ignored finding leaves an incident with its reason and nothing
/// contained; a finding no playbook handles gets a ticket for a person; tickets go to the
/// rule's assignee, else the account's owner, else the resource's owner tag.
#[tokio::test]
async fn triage_decides_what_is_contained_ticketed_or_ignored_and_who_gets_the_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("triaged");
    let tor = "UnauthorizedAccess:IAMUser/TorIPCaller";
    let rules = format!(
        "triage:\n  - match: {{types: [\"{tor}\"]}}\n    tags: [team=quiet]\n    decision: ignore\n    reason: the quiet team's keys are test keys\n  - match: {{types: [\"{tor}\"]}}\n    tags: [route=carol]\n    decision: respond\n    assign: [carol]\n  - match: {{types: [\"*\"]}}\n    decision: respond\n"
    );
    let tagged = |key: &str, value: &str, f: &PathBuf| {
        let mut v = json_of(f);
        v["resource"]["accessKeyDetails"]["tags"] = json!([{"key": key, "value": value}]);
        std::fs::write(f, v.to_string()).unwrap();
    };
    let iam = aws_sdk_iam::Client::new(&account.config);

    // Ignored: an incident with its reason, nothing contained, no ticket.
    let with_owner = gh.env_with(
        "acme/triaged",
        &format!("{rules}owners:\n  '{}': dave\n", account.id),
    );
    let (quiet_user, quiet_key) = crate::run_s3::user_with_key(&account.config).await;
    let quiet = finding(&account, &unique("quiet"), &quiet_user, &quiet_key, 1);
    tagged("team", "quiet", &quiet);
    let out = contain(&account, &with_owner, &quiet, &bucket);
    assert!(stderr(&out).contains("ignore (rule 1"), "{}", stderr(&out));
    assert_eq!(
        crate::serve::keys_of(&iam, &quiet_user).await,
        ["Active"],
        "an ignored finding is not contained"
    );

    // By rule, then by the account's owner.
    let (carol_user, carol_key) = crate::run_s3::user_with_key(&account.config).await;
    let routed = finding(&account, &unique("routed"), &carol_user, &carol_key, 1);
    tagged("route", "carol", &routed);
    contain(&account, &with_owner, &routed, &bucket);
    let (dave_user, dave_key) = crate::run_s3::user_with_key(&account.config).await;
    contain(
        &account,
        &with_owner,
        &finding(&account, &unique("owned"), &dave_user, &dave_key, 1),
        &bucket,
    );

    // No owner mapping: the resource's owner tag.
    let by_tag = gh.env_with("acme/triaged", &rules);
    let (erin_user, erin_key) = crate::run_s3::user_with_key(&account.config).await;
    let tagged_finding = finding(&account, &unique("tagged"), &erin_user, &erin_key, 1);
    tagged("firebreak:owner", "erin", &tagged_finding);
    contain(&account, &by_tag, &tagged_finding, &bucket);

    // No playbook handles a finding on an Aurora Limitless database: a ticket for a person,
    // nothing run.
    let limitless = finding_file("rds-limitless-login.json", |f| {
        f["id"] = unique("limitless").into();
        f["accountId"] = account.id.as_str().into();
    });
    let out = contain(&account, &by_tag, &limitless, &bucket);
    assert!(stderr(&out).contains("ticket (rule 3"), "{}", stderr(&out));

    let issues = gh.issues("acme/triaged");
    let assignees: Vec<(String, Value)> = issues
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap().to_string(),
                i["assignees"].clone(),
            )
        })
        .collect();
    assert_eq!(
        issues.len(),
        4,
        "no ticket for the ignored finding: {assignees:#?}"
    );
    let who = |user: &str| {
        issues
            .iter()
            .find(|i| i["title"].as_str().unwrap().contains(user))
            .map(|i| i["assignees"].clone())
            .unwrap_or_else(|| panic!("no ticket for {user}: {assignees:#?}"))
    };
    assert_eq!(who(&carol_user), json!(["carol"]));
    assert_eq!(who(&dave_user), json!(["dave"]));
    assert_eq!(who(&erin_user), json!(["erin"]));
    let limitless_issue = issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("RDS"))
        .unwrap();
    assert_eq!(limitless_issue["state"], "open", "a person closes it");
    assert!(
        limitless_issue["body"]
            .as_str()
            .unwrap()
            .contains("A person decides")
    );
    // Its runbook is AWS's guidance for a database, not a playbook's.
    let body = limitless_issue["body"].as_str().unwrap();
    assert!(
        body.contains("No playbook speaks for this finding")
            && body.contains("Check the database user"),
        "{body}"
    );
    assert_eq!(
        limitless_issue["comments"].as_array().unwrap().len(),
        0,
        "nothing ran"
    );

    let all = bucket_text(&account, &bucket).await;
    assert!(
        all.contains("the quiet team's keys are test keys"),
        "the ignore reason is in the incident"
    );
    assert!(all.contains("\"decision\": \"ignore\""));
    assert_requests_follow_the_description(&gh);
}

/// `triage test` says each finding's decision and the rule behind it; `triage coverage` on the
/// shipped configuration finds every GuardDuty type decided, and without rules lists them.
#[test]
fn triage_test_and_coverage_on_the_shipped_configuration() {
    let f = |name: &str| {
        root()
            .join("tests/findings")
            .join(name)
            .display()
            .to_string()
    };
    let out = crate::support::firebreak(&[
        "triage",
        "test",
        &f("iam-user-tor.json"),
        &f("sample-flag.json"),
        &f("iam-root-usage.json"),
        &f("rds-limitless-login.json"),
        "--config",
        "config/firebreak.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    for (n, want) in [
        (
            0,
            "(UnauthorizedAccess:IAMUser/TorIPCaller): respond with playbook iam-credential-compromise",
        ),
        (
            1,
            "  rule 3 (config/firebreak.yaml:21:5): contained automatically",
        ),
        (2, "(Policy:S3/BucketBlockPublicAccessDisabled): ignore"),
        (
            3,
            "rule 1 (config/firebreak.yaml:7:5): a GuardDuty sample finding",
        ),
        (4, "(Policy:IAMUser/RootCredentialUsage): ticket"),
        (
            6,
            "(CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin): ticket",
        ),
        (7, "no playbook handles it, so a person does"),
    ] {
        assert!(lines[n].contains(want), "line {n} lacks {want:?}:\n{text}");
    }

    let out =
        crate::support::firebreak(&["triage", "coverage", "--config", "config/firebreak.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), "", "the shipped rules decide every type");
    // Without rules, and without the EKS playbook: its types are listed, the others' not.
    let empty = std::env::temp_dir().join(unique("empty-config"));
    std::fs::write(&empty, "").unwrap();
    let fewer = std::env::temp_dir().join(unique("playbooks-without-eks"));
    std::fs::create_dir_all(&fewer).unwrap();
    for p in std::fs::read_dir(root().join("playbooks")).unwrap() {
        let p = p.unwrap().path();
        if !p.ends_with("eks-cluster-compromise.yaml") {
            std::fs::copy(&p, fewer.join(p.file_name().unwrap())).unwrap();
        }
    }
    let out = crate::support::firebreak(&[
        "triage",
        "coverage",
        "--config",
        empty.to_str().unwrap(),
        "--playbooks",
        fewer.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Policy:Kubernetes/AnonymousAccessGranted")
            && !stdout(&out).contains("Backdoor:Lambda/C&CActivity.B")
            && !stdout(&out).contains("CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin"),
        "{}",
        stdout(&out)
    );
}

/// A tracker that is down for a minute loses no ticket: `serve` contains the finding at once,
/// records the ticket writes it could not make, and makes them from those records once the
/// tracker is back (here: the next `serve`, on its way out).
#[tokio::test]
async fn a_tracker_down_for_a_minute_loses_no_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let repo = "acme/down";
    let (bucket, url, served) = served_by(&gh, &account, "tickets-down", repo);
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let id = unique("down-finding");
    let f = finding(&account, &id, &user, &key, 1);
    let f = json_of(&f);
    let back = std::time::Instant::now() + std::time::Duration::from_secs(60);
    gh.post("/_emulator/down", json!({"seconds": 60}));
    crate::serve::put_event(&aws_sdk_eventbridge::Client::new(&account.config), &f).await;
    let limit = std::time::Duration::from_secs(240);
    let extra = ["--ticket-retry-every", "5"];
    let (code, log) =
        crate::serve::finish(crate::serve::serve(&served, &url, &bucket, &extra), limit);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"ticket_unwritten\""), "{log}");
    let iam = aws_sdk_iam::Client::new(&account.config);
    assert_eq!(
        crate::serve::keys_of(&iam, &user).await,
        ["Inactive"],
        "contained while the tracker was down"
    );
    assert!(gh.issues(repo).is_empty());

    // The tracker is back: the next serve makes what was recorded.
    if let Some(wait) = back.checked_duration_since(std::time::Instant::now()) {
        tokio::time::sleep(wait + std::time::Duration::from_secs(1)).await;
    }
    let (code, log) =
        crate::serve::finish(crate::serve::serve(&served, &url, &bucket, &extra), limit);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"ticket_written_later\""), "{log}");
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "{issues:#?}\n{log}");
    assert!(issues[0]["body"].as_str().unwrap().contains(&id));
    assert_eq!(
        issues[0]["state"], "closed",
        "the outcome and the close followed the open"
    );
    let comments = issues[0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("## Containment succeeded")
    );
    // Made once: a third serve makes nothing again.
    let (code, log) =
        crate::serve::finish(crate::serve::serve(&served, &url, &bucket, &extra), limit);
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("\"ticket_written_later\""), "{log}");
    assert_eq!(gh.issues(repo)[0]["comments"].as_array().unwrap().len(), 1);
    assert_requests_follow_the_description(&gh);
}

/// `validate --config` checks the configuration with the playbooks' diagnostics: place, code,
/// hint; an error is a problem found (exit 1), a warning is not.
#[test]
fn validate_checks_the_configuration_like_a_playbook() {
    let bad = std::env::temp_dir().join(unique("bad-config"));
    std::fs::write(
        &bad,
        "triage:\n  - match: {types: [\"Recon:Nope/*\"]}\n    decision: ticket\n  - match: {types: [\"*\"]}\n    decision: explode\n",
    )
    .unwrap();
    let name = bad.display().to_string();
    let out = crate::support::firebreak(&["validate", "playbooks", "--config", &name]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{name}:2:21: warning[FB019 unknown-finding-type]")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{name}:5:15: error[FB020 invalid-value]: `decision` is `explode`"
        )),
        "{text}"
    );
    assert!(text.contains("1 error(s), 1 warning(s)"), "{text}");
    let out =
        crate::support::firebreak(&["validate", "playbooks", "--config", "config/firebreak.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("configuration config/firebreak.yaml, 0 error(s), 0 warning(s)"));
}

/// On the emulator (no CloudTrail LookupEvents) the investigation cannot be read: the ticket's
/// first comment says so, and containment and the outcome go on.
#[tokio::test]
async fn a_failed_investigation_is_said_on_the_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("investigated");
    let repo = "acme/investigated";
    let env: Vec<(String, String)> = gh
        .env(repo)
        .into_iter()
        .map(|(k, v)| {
            if k == "FIREBREAK_CONFIG" {
                let text = std::fs::read_to_string(&v).unwrap();
                std::fs::write(&v, text.replace("  investigate: false\n", "")).unwrap();
            }
            (k, v)
        })
        .collect();
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let f = finding(&account, &unique("investigated"), &user, &key, 1);
    contain(&account, &env, &f, &bucket);
    let issues = gh.issues(repo);
    let comments = crate::support::comment_bodies(&issues[0]);
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Investigation (automatic)"),
        "{}",
        comments[0]
    );
    assert!(
        comments[0].contains("Could not be read: LookupEvents"),
        "{}",
        comments[0]
    );
    assert!(comments[1].starts_with("## Containment succeeded"));
    let all = bucket_text(&account, &bucket).await;
    assert!(all.contains("investigation.json"));
}

/// Jira Cloud as the tracker: the incident's issue in the configured project, labelled, its
/// description and comments in Atlassian Document Format, closed through the `Done`
/// transition and reopened through `To Do` when the finding is run again.
#[tokio::test]
async fn jira_tickets_are_opened_commented_closed_and_reopened_through_transitions() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("jira");
    let dir = std::env::temp_dir().join(unique("jira-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("firebreak.yaml");
    std::fs::write(
        &config,
        format!(
            "tickets:\n  investigate: false\n  jira:\n    base_url: {}\n    project: SEC\n    labels: [aws-security]\n",
            gh.url
        ),
    )
    .unwrap();
    let env = vec![
        ("JIRA_EMAIL".to_string(), JIRA_EMAIL.to_string()),
        ("JIRA_API_TOKEN".to_string(), JIRA_TOKEN.to_string()),
        ("FIREBREAK_CONFIG".to_string(), config.display().to_string()),
    ];
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let id = unique("jira-finding");
    let out = contain(
        &account,
        &env,
        &finding(&account, &id, &user, &key, 1),
        &bucket,
    );
    assert!(stderr(&out).contains("/browse/SEC-1"), "{}", stderr(&out));
    let issues = gh.issues("SEC");
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let f = &issues[0]["fields"];
    assert_eq!(f["project"]["key"], "SEC");
    assert_eq!(f["issuetype"]["name"], "Task");
    assert_eq!(f["labels"], json!(["firebreak", "aws-security"]));
    assert!(
        f["description"].to_string().contains(&id),
        "the description names the finding"
    );
    assert_eq!(issues[0]["status"], "Done");
    let comments = issues[0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]["body"]
            .to_string()
            .contains("Containment succeeded")
    );

    contain(
        &account,
        &env,
        &finding(&account, &id, &user, &key, 2),
        &bucket,
    );
    let issues = gh.issues("SEC");
    assert_eq!(issues.len(), 1, "never a second ticket");
    assert_eq!(issues[0]["status"], "Done");
    let moves: Vec<String> = gh
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/transitions"))
        .map(|r| r["body"]["transition"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(moves, ["31", "11", "31"], "Done, To Do, Done");
    assert_requests_follow_the_description(&gh);
    let all = bucket_text(&account, &bucket).await;
    assert!(!all.contains(JIRA_TOKEN), "the token is in the evidence");
}

#[test]
fn the_jira_check_finds_what_jira_would_refuse() {
    let bad = json!({"method": "POST", "path": "/rest/api/3/issue", "authorized": true,
        "body": {"fields": {"project": {"key": "SEC"}, "summary": "", "issuetype": {"name": "Task"},
                 "description": "plain text", "labels": ["two words"]}}});
    let p = check_jira_request(&bad);
    assert_eq!(p.len(), 3, "{p:#?}");
    let transition = json!({"method": "POST", "path": "/rest/api/3/issue/SEC-1/transitions",
        "authorized": false, "body": {"transition": {"id": 31}}});
    assert_eq!(check_jira_request(&transition).len(), 2);
}

/// Slack as the tracker: one message per incident, its progress in the thread, the message
/// updated when the incident closes; the finding run again reopens it there.
#[tokio::test]
async fn slack_keeps_one_message_per_incident_with_its_story_in_the_thread() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("slack");
    let dir = std::env::temp_dir().join(unique("slack-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("firebreak.yaml");
    std::fs::write(
        &config,
        "tickets:\n  investigate: false\n  slack:\n    channel: C0SECURITY\n",
    )
    .unwrap();
    let env = vec![
        ("SLACK_BOT_TOKEN".to_string(), SLACK_TOKEN.to_string()),
        ("SLACK_API_URL".to_string(), format!("{}/api/", gh.url)),
        ("FIREBREAK_CONFIG".to_string(), config.display().to_string()),
    ];
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let id = unique("slack-finding");
    contain(
        &account,
        &env,
        &finding(&account, &id, &user, &key, 1),
        &bucket,
    );
    contain(
        &account,
        &env,
        &finding(&account, &id, &user, &key, 2),
        &bucket,
    );
    let messages = gh.issues("slack:C0SECURITY");
    assert_eq!(messages.len(), 1, "one message per incident: {messages:#?}");
    let m = &messages[0];
    let replies: Vec<&str> = m["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    // Outcome, closed; came again, reopened; outcome, closed.
    assert_eq!(replies.len(), 6, "{replies:#?}");
    assert!(
        replies[0].starts_with("*Containment succeeded"),
        "{}",
        replies[0]
    );
    assert!(replies[1].contains("*Closed*"));
    assert!(replies[2].contains("came again"), "{}", replies[2]);
    assert!(replies[3].contains("*Reopened*"));
    assert!(replies[5].contains("*Closed*"));
    assert_eq!(m["updates"], 3, "the message follows the incident's state");
    assert!(m["text"].as_str().unwrap().contains("*Closed*"));
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("UnauthorizedAccess:IAMUser/TorIPCaller")
    );
    assert_requests_follow_the_description(&gh);
    assert!(!bucket_text(&account, &bucket).await.contains(SLACK_TOKEN));
}

/// Planted secrets: a finding whose text and resource tags carry a secret access key, a
/// session token and a password leaves none of them in the ticket, its comments, the incident's
/// records or the log; nor does the tracker's token.
#[tokio::test]
async fn planted_secrets_reach_no_ticket() {
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY";
    const PASSWORD: &str = "Planted-Passw0rd-42";
    const SESSION: &str = "IQoJb3JpZ2luX2VjEPLANTEDSESSIONTOKEN0000000000";
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("tickets-secrets");
    let repo = "acme/secrets";
    let env = gh.env(repo);
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let f = finding(&account, &unique("secret-finding"), &user, &key, 1);
    let mut v = json_of(&f);
    v["title"] = format!("Key used; aws_secret_access_key={SECRET_KEY}").into();
    v["description"] =
        format!("the user's password={PASSWORD} and token {{\"SessionToken\": \"{SESSION}\"}}")
            .into();
    v["resource"]["accessKeyDetails"]["tags"] = json!([{"key": "aws_secret_access_key", "value": SECRET_KEY}, {"key": "db_password", "value": PASSWORD}]);
    std::fs::write(&f, v.to_string()).unwrap();
    let out = contain(&account, &env, &f, &bucket);
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1);
    let everything = format!(
        "{}\n{}\n{}\n{}\n{}",
        serde_json::to_string(&issues).unwrap(),
        serde_json::to_string(&gh.requests()).unwrap(),
        stderr(&out),
        stdout(&out),
        bucket_text(&account, &bucket).await
    );
    for secret in [SECRET_KEY, PASSWORD, SESSION, TOKEN] {
        assert!(
            !everything.contains(secret),
            "{secret} reached a ticket, a record or the log"
        );
    }
    assert!(
        issues[0]["body"].as_str().unwrap().contains("Key used"),
        "the rest of the text is kept"
    );
}

/// An `ignore` rule with `suppress: true` makes a GuardDuty suppression filter for the type it
/// ignores (once; the next finding of that type finds it in place), so that GuardDuty archives
/// the rest as they come (moto serves CreateFilter and GetFilter).
#[tokio::test]
async fn an_ignore_rule_that_suppresses_makes_one_guardduty_filter() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("suppressed");
    let gd = aws_sdk_guardduty::Client::new(&account.config);
    let detector = gd
        .create_detector()
        .enable(true)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let env = gh.env_with(
        "acme/suppressed",
        "triage:\n  - match: {types: [\"UnauthorizedAccess:IAMUser/TorIPCaller\"]}\n    decision: ignore\n    suppress: true\n    reason: our red team's Tor exit\n",
    );
    for n in 0..2 {
        let (user, key) = crate::run_s3::user_with_key(&account.config).await;
        let f = finding(
            &account,
            &unique(&format!("suppressed-{n}")),
            &user,
            &key,
            1,
        );
        let out = contain(&account, &env, &f, &bucket);
        assert!(stderr(&out).contains("ignore (rule 1"), "{}", stderr(&out));
    }
    let name = firebreak::tickets::findings::filter_name(
        "UnauthorizedAccess:IAMUser/TorIPCaller",
        &account.id,
    );
    let filter = gd
        .get_filter()
        .detector_id(&detector)
        .filter_name(&name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no filter {name}: {e:?}"));
    assert_eq!(
        filter.action(),
        Some(&aws_sdk_guardduty::types::FilterAction::Archive)
    );
    let criteria = filter.finding_criteria().unwrap().criterion().unwrap();
    assert_eq!(
        criteria["type"].equals(),
        ["UnauthorizedAccess:IAMUser/TorIPCaller"]
    );
    assert_eq!(criteria["accountId"].equals(), [account.id.as_str()]);
    let all = bucket_text(&account, &bucket).await;
    assert!(all.contains("GuardDuty: suppression filter made"), "{all}");
    assert!(all.contains("GuardDuty: suppression filter in place"));
    assert!(
        gh.issues("acme/suppressed").is_empty(),
        "an ignored finding has no ticket"
    );
}

#[test]
fn the_slack_check_finds_what_slack_would_refuse() {
    let no_text = json!({"method": "POST", "path": "/api/chat.postMessage", "authorized": true,
        "body": {"channel": "C1", "thread_ts": 1796600000.0001, "blocks": []}});
    assert_eq!(
        check_slack_request(&no_text).len(),
        3,
        "{:#?}",
        check_slack_request(&no_text)
    );
    let update = json!({"method": "POST", "path": "/api/chat.update", "authorized": false,
        "body": {"channel": "C1", "text": "closed"}});
    assert_eq!(check_slack_request(&update).len(), 2);
    let other =
        json!({"method": "POST", "path": "/api/chat.delete", "authorized": true, "body": {}});
    assert!(check_slack_request(&other)[0].contains("not a Slack method"));
}

/// With no rule's `assign`, no `owners:` entry and no owner tag on the resource, the ticket goes
/// to the account's owner tag in AWS Organizations (moto serves Organizations).
#[tokio::test]
async fn a_ticket_goes_to_the_account_s_owner_tag_in_organizations() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let org = aws_sdk_organizations::Client::new(&account.config);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    org.tag_resource()
        .resource_id(&account.id)
        .tags(
            aws_sdk_organizations::types::Tag::builder()
                .key("firebreak:owner")
                .value("frank")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let bucket = account.evidence_bucket("account-owner");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let f = finding(&account, &unique("account-owned"), &user, &key, 1);
    contain(&account, &gh.env("acme/by-account"), &f, &bucket);
    let issues = gh.issues("acme/by-account");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["assignees"], json!(["frank"]), "{:#}", issues[0]);
    assert_requests_follow_the_description(&gh);
}

/// The tracker's token from AWS Secrets Manager (`tickets.token_secret`, moto serves it): the
/// ticket is written with it and it is nowhere in the evidence; a secret that cannot be read
/// stops the command before anything runs, saying what the identity needs.
#[tokio::test]
async fn the_tracker_token_can_come_from_secrets_manager() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let secret = unique("firebreak/github");
    aws_sdk_secretsmanager::Client::new(&account.config)
        .create_secret()
        .name(&secret)
        .secret_string(json!({ "token": TOKEN }).to_string())
        .send()
        .await
        .unwrap();
    let bucket = account.evidence_bucket("token-secret");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let f = finding(&account, &unique("from-secret"), &user, &key, 1);
    let env_for = |secret: &str| {
        let file = crate::support::config_file(&format!(
            "tickets:\n  investigate: false\n  token_secret: {secret}\n  github:\n    repo: acme/secret\n"
        ));
        vec![
            ("GITHUB_TOKEN".to_string(), String::new()),
            ("GITHUB_API_URL".to_string(), gh.url.clone()),
            ("FIREBREAK_CONFIG".to_string(), file.display().to_string()),
        ]
    };
    contain(&account, &env_for(&secret), &f, &bucket);
    let issues = gh.issues("acme/secret");
    assert_eq!(issues.len(), 1);
    assert!(
        gh.requests().iter().all(|r| r["authorized"] == true),
        "every request carried the token from the secret"
    );
    assert!(!bucket_text(&account, &bucket).await.contains(TOKEN));
    let out = with(
        &account,
        &env_for("firebreak/no-such-secret"),
        &[
            "run",
            f.to_str().unwrap(),
            "--evidence",
            &format!("s3://{bucket}"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tickets.token_secret firebreak/no-such-secret")
            && stderr(&out).contains("secretsmanager:GetSecretValue"),
        "{}",
        stderr(&out)
    );
}

/// Issue 13, item 3: a message on the queue that is not a finding (or one firebreak cannot
/// act on) reaches the dead-letter queue and becomes one ticket, however often it was
/// received, with why and its text, scrubbed.
#[tokio::test]
async fn a_message_that_is_not_a_finding_becomes_one_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let repo = "acme/poison";
    let (bucket, url, served) = served_by(&gh, &account, "tickets-poison", repo);
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body(
            r#"{"detail": {"note": "no finding here"}, "password": "hunter2-PoisonSecret"}"#,
        )
        .send()
        .await
        .unwrap();
    let id = sent.message_id().unwrap().to_string();
    let (code, log) = crate::serve::finish(
        crate::serve::serve(&served, &url, &bucket, &[]),
        std::time::Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.matches("\"rejected\"").count() >= 2,
        "received twice: {log}"
    );
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let (title, body) = (
        issues[0]["title"].as_str().unwrap(),
        issues[0]["body"].as_str().unwrap(),
    );
    assert!(title.contains(&id), "{title}");
    assert!(
        body.contains("no finding here") && body.contains("What to do"),
        "{body}"
    );
    assert!(!body.contains("hunter2-PoisonSecret"), "{body}");
    assert_requests_follow_the_description(&gh);
    let dlq = crate::serve::dead_letter_url(&sqs, url.rsplit('/').next().unwrap()).await;
    assert_eq!(crate::serve::depth(&sqs, &dlq).await, 1);
}

/// Issue 13: an attack sequence over a key, an instance and a bucket is one incident with
/// three linked executions, each resource contained by its own playbook, one ticket.
#[tokio::test]
async fn an_attack_sequence_is_one_incident_with_an_execution_per_resource() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let bucket = account.evidence_bucket("sequence-evidence");
    let (user, key) = crate::run_s3::user_with_key(&account.config).await;
    let instance = crate::run_ec2::target(&account.config).await;
    let data = unique("sequence-data");
    crate::support::s3_client(&account.config)
        .create_bucket()
        .bucket(&data)
        .send()
        .await
        .unwrap();
    let f = finding_file("attack-sequence.json", |f| {
        f["id"] = unique("sequence").into();
        f["accountId"] = account.id.as_str().into();
        f["service"]["detection"]["sequence"]["uid"] = unique("seq").into();
        let r = &mut f["service"]["detection"]["sequence"]["resources"];
        for i in 0..4 {
            r[i]["accountId"] = account.id.as_str().into();
        }
        r[0]["uid"] = key.as_str().into();
        r[0]["name"] = user.as_str().into();
        r[0]["data"]["accessKey"]["userName"] = user.as_str().into();
        r[1]["uid"] = instance.instance_id.as_str().into();
        r[2]["uid"] = format!("arn:aws:s3:::{data}").into();
        r[2]["name"] = data.as_str().into();
    });
    let repo = "acme/sequences";
    contain(&account, &gh.env(repo), &f, &bucket);
    // One ticket: the sequence's, told of each resource's containment.
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let comments = crate::support::comment_bodies(&issues[0]);
    assert_eq!(
        comments
            .iter()
            .filter(|c| c.starts_with("## Containment succeeded"))
            .count(),
        3,
        "{comments:#?}"
    );
    assert!(
        comments
            .iter()
            .any(|c| c.contains("Another resource of the attack sequence"))
    );
    assert_eq!(
        issues[0]["state"], "open",
        "the sequence's ticket is a person's"
    );
    // Three executions, one incident.
    let s3 = crate::support::s3_client(&account.config);
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    let manifests = keys
        .iter()
        .filter(|k| k.ends_with("-manifest.json"))
        .count();
    let opened = keys
        .iter()
        .filter(|k| k.starts_with("_incidents/") && k.ends_with("/opened.json"))
        .count();
    assert_eq!((manifests, opened), (3, 1), "{keys:#?}");
    // Each resource contained: the key off, the instance isolated, the user denied on the bucket.
    assert_eq!(
        crate::serve::keys_of(&aws_sdk_iam::Client::new(&account.config), &user).await,
        ["Inactive"]
    );
    let tags = aws_sdk_ec2::Client::new(&account.config)
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("resource-id")
                .values(&instance.instance_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("firebreak:state") && t.value() == Some("contained")),
        "{tags:?}"
    );
    let policy = s3.get_bucket_policy().bucket(&data).send().await.unwrap();
    assert!(policy.policy().unwrap_or_default().contains(&user));
}

/// Issue 14: someone who may only write to the evidence bucket puts an incident's `opened`
/// record first (unsealed), as if another worker had opened it, so that its ticket would never
/// be opened. Incident records are sealed now: the forged one is not believed, the incident is
/// opened at the next name with its ticket, the forgery is logged, and the audit with the seal
/// key reports it.
#[tokio::test]
async fn a_forged_incident_record_does_not_stop_the_ticket() {
    let gh = TrackerServer::start();
    let account = Account::new().await;
    let repo = "acme/forged-incident";
    let (bucket, url, served) = served_by(&gh, &account, "tickets-forged", repo);
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"detail": {"note": "no finding here"}}"#)
        .send()
        .await
        .unwrap();
    let id = sent.message_id().unwrap().to_string();
    let forged_key = format!("_incidents/_queue/message-{id}/opened.json");
    let forged = serde_json::json!({"schema": "firebreak.incident/v1", "kind": "opened",
        "at": "2026-11-23T00:00:00Z", "incident": format!("message-{id}"),
        "finding_id": format!("sqs:{id}"), "finding_type": "not a finding",
        "account_id": "_queue", "region": "", "decision": "ignore", "detail": "nothing to see"});
    crate::support::s3_client(&account.config)
        .put_object()
        .bucket(&bucket)
        .key(&forged_key)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            serde_json::to_vec_pretty(&forged).unwrap(),
        ))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();

    let (code, log) = crate::serve::finish(
        crate::serve::serve(&served, &url, &bucket, &[]),
        std::time::Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("\"incident_record_forged\""), "{log}");
    let issues = gh.issues(repo);
    assert_eq!(issues.len(), 1, "the ticket is opened: {issues:#?}");
    assert!(issues[0]["title"].as_str().unwrap().contains(&id));
    let listed = crate::support::s3_client(&account.config)
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("_incidents/_queue/message-{id}/"))
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(
        keys.iter().any(|k| k.ends_with("/opened-2.json")),
        "{keys:?}"
    );

    let out = crate::support::firebreak_env(
        &crate::support::moto().endpoint,
        &[
            "audit",
            "--retention-days",
            "1",
            "--seal-key",
            firebreak::evidence::seal::DEFAULT_ALIAS,
            &format!("s3://{bucket}"),
        ],
        &served
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    let text = crate::support::stdout(&out);
    assert!(
        text.contains(&format!(
            "{forged_key}: incident record has no seal (forged"
        )),
        "{text}"
    );
    assert!(
        !text.contains("opened-2.json: incident record"),
        "firebreak's own record is sealed: {text}"
    );
}
