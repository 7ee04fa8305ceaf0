//! A fault-injecting HTTP proxy in front of moto, written for these tests: it forwards requests
//! and, on a share of them, answers with throttling errors, 503s or a dropped connection, or
//! refuses chosen API actions with AccessDenied; it can also show EC2 snapshots in a state of
//! the test's choosing. (AWS-shaped errors are hand-written here; the successful answers all
//! come from moto.)

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Counts {
    pub forwarded: AtomicUsize,
    pub throttled: AtomicUsize,
    pub unavailable: AtomicUsize,
    pub dropped: AtomicUsize,
    pub denied: AtomicUsize,
}

pub struct FaultProxy {
    pub endpoint: String,
    pub counts: Arc<Counts>,
    /// [`Faults::deny_body`], which [`FaultProxy::deny_body`] sets once the text is known.
    body: Arc<Mutex<Option<String>>>,
    /// [`Faults::snapshot_states`] not shown yet.
    states: Arc<Mutex<std::collections::VecDeque<&'static str>>>,
}

/// What to do to requests.
#[derive(Clone)]
pub struct Faults {
    /// Every `every`-th request seen for the first time gets a fault (0: none). A request sent
    /// again (a retry) is always forwarded, so retries make progress.
    pub every: usize,
    /// API actions (`DetachInstances`, `PutUserPolicy`, …) always refused with AccessDenied.
    pub deny_actions: Vec<String>,
    /// Requests whose body holds this text (a group id in a form body, …) refused with
    /// AccessDenied: one call of an action can fail while others of it go through.
    pub deny_body: Option<String>,
    /// Refusals carry a message of some 7 KB (as an emulator's that lists every service it
    /// knows), for output that must shorten it.
    pub long_denial: bool,
    /// The account that owns every bucket: an S3 request naming another expected owner
    /// (`x-amz-expected-bucket-owner`) is refused with AccessDenied, as S3 refuses it. (The
    /// emulator ignores the header.)
    pub bucket_owner: Option<String>,
    /// The states EC2's `DescribeSnapshots` answers show, one answer after the other, in place
    /// of `completed` (the emulator's snapshots are complete at once): a snapshot `pending`,
    /// then done, or one that ended in `error`. Once they are used up, answers pass as they
    /// are.
    pub snapshot_states: Vec<&'static str>,
}

impl FaultProxy {
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let counts = Arc::new(Counts::default());
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let first_time = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(Mutex::new(faults.deny_body.clone()));
        let states = Arc::new(Mutex::new(std::collections::VecDeque::from(
            faults.snapshot_states.clone(),
        )));
        let (b, c, st) = (body.clone(), counts.clone(), states.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (upstream, faults, c, seen, first_time, b, states) = (
                    upstream.clone(),
                    faults.clone(),
                    c.clone(),
                    seen.clone(),
                    first_time.clone(),
                    b.clone(),
                    st.clone(),
                );
                std::thread::spawn(move || {
                    let _ = handle(
                        conn,
                        &upstream,
                        &faults,
                        &b,
                        &c,
                        &seen,
                        &first_time,
                        &states,
                    );
                });
            }
        });
        FaultProxy {
            endpoint,
            counts,
            body,
            states,
        }
    }

    /// How many of [`Faults::snapshot_states`] no answer has shown yet.
    pub fn snapshot_states_left(&self) -> usize {
        self.states.lock().unwrap().len()
    }

    /// From now on, refuses requests whose body holds `text` (see [`Faults::deny_body`]): for
    /// a resource made after the proxy started (its id).
    pub fn deny_body(&self, text: String) {
        *self.body.lock().unwrap() = Some(text);
    }
}

fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = conn.read(&mut byte)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l[name.len() + 1..].trim().to_string())
    };
    let mut body = buf[head_end..].to_vec();
    if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        while body.len() < len {
            let n = conn.read(&mut byte)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&byte[..n]);
        }
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let n = conn.read(&mut byte)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&byte[..n]);
        }
    }
    Ok(Some((head, body)))
}

fn service_of(head: &str) -> String {
    // SigV4: Credential=AKID/DATE/REGION/SERVICE/aws4_request
    head.split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("")
        .to_string()
}

fn action_of(head: &str, body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
        .or_else(|| {
            head.lines().find_map(|l| {
                l.strip_prefix("X-Amz-Target: ")
                    .or(l.strip_prefix("x-amz-target: "))
                    .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
            })
        })
        .or_else(|| rest_action(head))
        .unwrap_or_default()
}

/// The operation of a Lambda or EKS request (REST: the method and path name it) that
/// firebreak makes.
fn rest_action(head: &str) -> Option<String> {
    let mut line = head.lines().next()?.split_whitespace();
    let (method, path) = (line.next()?, line.next()?);
    let path = path.split('?').next()?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let op = match (method, parts.as_slice()) {
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("GET", [_, "functions", _, "concurrency"]) => "GetFunctionConcurrency",
        ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("GET", [_, "event-source-mappings"]) => "ListEventSourceMappings",
        ("PUT", [_, "event-source-mappings", _]) => "UpdateEventSourceMapping",
        ("GET", [_, "functions", _, "url"]) => "GetFunctionUrlConfig",
        ("PUT", [_, "functions", _, "url"]) => "UpdateFunctionUrlConfig",
        ("GET", [_, "functions", _, "policy"]) => "GetPolicy",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("POST", ["clusters", _, "update-config"]) => "UpdateClusterConfig",
        ("GET", ["clusters", _, "access-entries", _]) => "DescribeAccessEntry",
        ("DELETE", ["clusters", _, "access-entries", _]) => "DeleteAccessEntry",
        _ => return None,
    };
    Some(op.to_string())
}

fn error_response(service: &str, status: u16, code: &str, message: &str) -> Vec<u8> {
    if service == "lambda" || service == "eks" {
        // REST-JSON: the code in a header, the message in a JSON body.
        let code = match code {
            "AccessDenied" => "AccessDeniedException",
            "Throttling" => "TooManyRequestsException",
            other => other,
        };
        let body = format!("{{\"Type\":\"User\",\"message\":\"{message}\"}}");
        return format!(
            "HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nX-Amzn-ErrorType: {code}\r\nX-Amzn-RequestId: fault-proxy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
    }
    let body = match service {
        "ec2" => format!(
            "<?xml version=\"1.0\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
        ),
        "s3" => format!(
            "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
        ),
        _ => format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        ),
    };
    let reason = match status {
        503 => "Service Unavailable",
        403 => "Forbidden",
        _ => "Bad Request",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[allow(clippy::too_many_arguments)]
fn handle(
    mut conn: TcpStream,
    upstream: &str,
    faults: &Faults,
    deny_body: &Mutex<Option<String>>,
    c: &Counts,
    seen: &Mutex<HashSet<Vec<u8>>>,
    first_time: &AtomicUsize,
    states: &Mutex<std::collections::VecDeque<&'static str>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some((head, body)) = read_request(&mut conn)? else {
        return Ok(());
    };
    let service = service_of(&head);
    let action = action_of(&head, &body);
    let body_denied = deny_body
        .lock()
        .unwrap()
        .as_deref()
        .is_some_and(|t| String::from_utf8_lossy(&body).contains(t));
    let expected_owner = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("x-amz-expected-bucket-owner")
            .then(|| value.trim().to_string())
    });
    let other_owner = matches!(
        (&faults.bucket_owner, &expected_owner),
        (Some(owner), Some(expected)) if owner != expected
    );
    if faults.deny_actions.contains(&action) || body_denied || other_owner {
        c.denied.fetch_add(1, Ordering::Relaxed);
        let mut msg = format!("User is not authorized to perform: {service}:{action}");
        if faults.long_denial {
            msg.push_str(". Known services: ");
            msg.push_str(&"accessanalyzer, account, acm, ".repeat(230));
        }
        return conn.write_all(&error_response(
            &service,
            403,
            if service == "ec2" {
                "UnauthorizedOperation"
            } else {
                "AccessDenied"
            },
            &msg,
        ));
    }
    // The request line and body identify a request; a retry repeats them.
    let key: Vec<u8> = head
        .lines()
        .next()
        .unwrap_or("")
        .bytes()
        .chain(body.iter().copied())
        .collect();
    let fresh = seen.lock().map(|mut s| s.insert(key)).unwrap_or(false);
    if fresh && faults.every > 0 {
        let n = first_time.fetch_add(1, Ordering::Relaxed);
        if n % faults.every == faults.every - 1 {
            match (n / faults.every) % 3 {
                0 => {
                    c.throttled.fetch_add(1, Ordering::Relaxed);
                    let (status, code) = match service.as_str() {
                        "ec2" => (400, "RequestLimitExceeded"),
                        "s3" => (503, "SlowDown"),
                        "lambda" => (429, "Throttling"),
                        _ => (400, "Throttling"),
                    };
                    return conn.write_all(&error_response(
                        &service,
                        status,
                        code,
                        "Rate exceeded",
                    ));
                }
                1 => {
                    c.unavailable.fetch_add(1, Ordering::Relaxed);
                    return conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
                _ => {
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                    return conn.shutdown(std::net::Shutdown::Both);
                }
            }
        }
    }
    // Forward once, with the connection closed after the answer.
    let mut up = TcpStream::connect(upstream)?;
    let head = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = format!("{}\r\nConnection: close\r\n\r\n", head.trim_end());
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    c.forwarded.fetch_add(1, Ordering::Relaxed);
    const DONE: &str = "<status>completed</status>";
    if action == "DescribeSnapshots"
        && String::from_utf8_lossy(&answer).contains(DONE)
        && let Some(state) = states.lock().unwrap().pop_front()
    {
        // Padded to the same length: the answer's Content-Length stays true, and XML takes
        // the spaces between elements.
        let shown = format!("<status>{state}</status>");
        let shown = format!("{shown:<width$}", width = DONE.len());
        answer = String::from_utf8_lossy(&answer)
            .replace(DONE, &shown)
            .into_bytes();
    }
    conn.write_all(&answer)
}
