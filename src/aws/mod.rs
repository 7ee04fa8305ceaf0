//! AWS configuration: the standard credential and endpoint chain, and per-account clients that
//! assume a responder role when a finding belongs to another account than the caller's.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use tokio::sync::Mutex;

pub mod error;
pub mod webhook;

pub use error::{classify, is_access_denied};

/// SDK clients for one account and region.
#[derive(Clone, Debug)]
pub struct Clients {
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub backup: aws_sdk_backup::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub eks: aws_sdk_eks::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub http: reqwest::Client,
}

impl Clients {
    /// Builds clients from an SDK configuration. SDK-level retries are turned off: the engine's
    /// retry policy is the one place retries happen, so they are visible and bounded.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        let config = config
            .to_builder()
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Clients {
            autoscaling: aws_sdk_autoscaling::Client::new(&config),
            backup: aws_sdk_backup::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            s3: s3_client(&config),
            sns: aws_sdk_sns::Client::new(&config),
            http: webhook::client(),
        }
    }
}

/// How to reach the finding's account.
#[derive(Debug, Clone)]
pub struct CrossAccount {
    /// Role assumed in the finding's account (`FirebreakResponder` by default).
    pub role_name: String,
    /// The role's ExternalId in accounts without one of their own in `external_ids`.
    pub external_id: Option<String>,
    /// Each account's own ExternalId (`external_ids:` in the configuration): one leaked id
    /// then opens one account's role, not every account's.
    pub external_ids: std::collections::BTreeMap<String, String>,
}

/// Why firebreak could not get working AWS clients.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "cannot determine the caller's AWS identity: {0}\n  hint: check credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO login) and AWS_ENDPOINT_URL for an emulator"
    )]
    Identity(String),
}

/// Loads configuration from the standard chain: environment (`AWS_ENDPOINT_URL`,
/// `AWS_ACCESS_KEY_ID`, `AWS_REGION`, …), profiles, SSO, container and instance roles.
/// Whatever credentials it resolves are registered with the secret scrubber.
pub async fn load() -> SdkConfig {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    match config.credentials_provider() {
        Some(p) => {
            let mut builder = config.to_builder();
            builder.set_credentials_provider(Some(SharedCredentialsProvider::new(Registering(p))));
            builder.build()
        }
        None => config,
    }
}

/// A credentials provider that registers the secrets it hands out with the scrubber, so that
/// no log line, error or record can carry them, whatever an SDK or a server echoes.
#[derive(Debug)]
struct Registering<P>(P);

impl<P: ProvideCredentials> ProvideCredentials for Registering<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let c = self.0.provide_credentials().await?;
            register_credentials(&c);
            Ok(c)
        })
    }
}

/// A principal's name from its ARN: `…:assumed-role/ROLE/session` → ROLE, `…:user/path/NAME`
/// or `…:role/NAME` → NAME.
pub fn principal_name(arn: &str) -> &str {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let mut parts = resource.split('/');
    match parts.next() {
        Some("assumed-role") => parts.next().unwrap_or(resource),
        _ => resource.rsplit('/').next().unwrap_or(resource),
    }
}

/// Clients per (account, region), created once and reused.
pub struct Accounts {
    base: SdkConfig,
    caller_account: String,
    caller_arn: String,
    cross: CrossAccount,
    session_name: String,
    cache: Mutex<HashMap<(String, String), Clients>>,
}

impl Accounts {
    /// Asks STS who the caller is (one call), so findings of that account use the caller's own
    /// credentials and others assume the responder role.
    pub async fn new(
        base: SdkConfig,
        cross: CrossAccount,
        session_name: &str,
    ) -> Result<Self, AwsError> {
        let sts = aws_sdk_sts::Client::new(&base);
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::Identity(error_chain(&e)))?;
        Ok(Accounts {
            caller_account: who.account().unwrap_or_default().to_string(),
            caller_arn: who.arn().unwrap_or_default().to_string(),
            base,
            cross,
            session_name: session(session_name),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn caller_account(&self) -> &str {
        &self.caller_account
    }

    pub fn caller_arn(&self) -> &str {
        &self.caller_arn
    }

    /// The caller's principal by name: the role of an assumed-role session, or the user.
    pub fn caller_name(&self) -> &str {
        principal_name(&self.caller_arn)
    }

    /// The caller's own configuration (the evidence bucket lives in the caller's account).
    pub fn base(&self) -> &SdkConfig {
        &self.base
    }

    /// Clients acting in `account` and `region`.
    pub async fn clients(&self, account: &str, region: &str) -> Clients {
        let key = (account.to_string(), region.to_string());
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(&key) {
            return c.clone();
        }
        let clients = Clients::new(&self.config(account, region).await);
        cache.insert(key, clients.clone());
        clients
    }

    /// The configuration acting in `account` and `region`: the caller's own credentials in
    /// its account, the responder role (assumed as needed) in any other.
    pub async fn config(&self, account: &str, region: &str) -> SdkConfig {
        self.config_as(account, region, &self.session_name).await
    }

    /// The configuration one execution acts with in `account` and `region`: in another account
    /// than the caller's, the responder role in a session of its own, named after the
    /// execution (`firebreak-{execution_id}`), so that CloudTrail tells which execution made
    /// each call.
    pub async fn execution_config(
        &self,
        account: &str,
        region: &str,
        execution_id: &str,
    ) -> SdkConfig {
        self.config_as(account, region, &execution_session(execution_id))
            .await
    }

    /// Clients for one execution in `account` and `region` (see [`Self::execution_config`]),
    /// and the identity they act as: the caller in its own account, else the responder role's
    /// session, whose credentials are fetched here (one `GetCallerIdentity`, which the caller
    /// can run beside its first writes) so that the first step does not wait for them. `None`
    /// when the role could not be assumed: each step then says why.
    pub async fn execution_clients(
        &self,
        account: &str,
        region: &str,
        execution_id: &str,
    ) -> (Clients, Option<String>) {
        if account == self.caller_account {
            return (
                self.clients(account, region).await,
                Some(self.caller_arn.clone()),
            );
        }
        let config = self.execution_config(account, region, execution_id).await;
        let acting = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .ok()
            .and_then(|who| who.arn().map(str::to_string));
        (Clients::new(&config), acting)
    }

    async fn config_as(&self, account: &str, region: &str, session_name: &str) -> SdkConfig {
        let mut builder = self.base.to_builder();
        builder.set_region(Some(Region::new(region.to_string())));
        if account != self.caller_account {
            let partition = "aws";
            let arn = format!(
                "arn:{partition}:iam::{account}:role/{}",
                self.cross.role_name
            );
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(arn)
                .session_name(session_name)
                .configure(&self.base);
            if let Some(id) = self
                .cross
                .external_ids
                .get(account)
                .or(self.cross.external_id.as_ref())
            {
                provider = provider.external_id(id);
            }
            let provider = provider.build().await;
            builder.set_credentials_provider(Some(SharedCredentialsProvider::new(Registering(
                provider,
            ))));
        }
        builder.build()
    }
}

/// A role session name from `name`: the characters STS allows, at most 64.
fn session(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .take(64)
        .collect()
}

/// The role session name of one execution.
pub fn execution_session(execution_id: &str) -> String {
    session(&format!("firebreak-{execution_id}"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// An AWS SDK error for a message: `Code: message`, or the whole error chain when the answer
/// had no code (a connection error, a timeout).
pub fn describe<T>(e: &T) -> String
where
    T: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}

/// Makes the secret parts of AWS credentials redacted wherever they would appear.
fn register_credentials(c: &aws_credential_types::Credentials) {
    crate::domain::scrub::register_secret(c.secret_access_key());
    if let Some(t) = c.session_token() {
        crate::domain::scrub::register_secret(t);
    }
}

/// A GuardDuty client in `region` with `base`'s identity.
pub fn guardduty_in(base: &SdkConfig, region: &str) -> aws_sdk_guardduty::Client {
    let conf = aws_sdk_guardduty::config::Builder::from(base)
        .region(Region::new(region.to_string()))
        .build();
    aws_sdk_guardduty::Client::from_conf(conf)
}

/// The caller's own GuardDuty detector in the client's region (`ListDetectors`): in an
/// organization's administrator account, the one that holds the members' findings too.
pub async fn own_detector(gd: &aws_sdk_guardduty::Client) -> Result<String, String> {
    let out = gd
        .list_detectors()
        .send()
        .await
        .map_err(|e| crate::tickets::findings::described("ListDetectors", &e))?;
    out.detector_ids().first().cloned().ok_or_else(|| {
        format!(
            "GuardDuty has no detector for this account in {}",
            gd.config()
                .region()
                .map_or_else(|| "this region".to_string(), ToString::to_string)
        )
    })
}

/// An S3 client for `config`, path-style (bucket names in the path: the emulator, and buckets
/// whose names hold dots, need it; AWS accepts it). Every S3 client firebreak uses is made here.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    s3_client_owned_by(config, None)
}

/// [`s3_client`] whose every request names `owner` (an account id) as the bucket's expected
/// owner (`x-amz-expected-bucket-owner`): S3 refuses it, AccessDenied, when another account
/// owns the bucket, so a bucket of the same name made elsewhere (after the real one was
/// deleted, or a typo) is never read or written as firebreak's.
pub fn s3_client_owned_by(config: &SdkConfig, owner: Option<&str>) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config).force_path_style(true);
    if let Some(owner) = owner {
        builder = builder.interceptor(ExpectedOwner(owner.to_string()));
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Adds the expected bucket owner to every S3 request (see [`s3_client_owned_by`]).
#[derive(Debug)]
struct ExpectedOwner(String);

impl aws_smithy_runtime_api::client::interceptors::Intercept for ExpectedOwner {
    fn name(&self) -> &'static str {
        "firebreak-expected-bucket-owner"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-amz-expected-bucket-owner", self.0.clone());
        Ok(())
    }
}

/// Why an S3 object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetObjectError {
    /// `GetObject` failed (classified: code, permission hint).
    #[error("{0}")]
    Call(crate::domain::step::StepError),
    /// The call succeeded and its body could not be read to the end.
    #[error("reading the body: {0}")]
    Body(String),
}

/// The whole body of object `key` in `bucket`.
pub async fn get_object_bytes(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, GetObjectError> {
    let answer = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| GetObjectError::Call(classify(&e, "s3", "GetObject")))?;
    let body = answer
        .body
        .collect()
        .await
        .map_err(|e| GetObjectError::Body(e.to_string()))?;
    Ok(body.into_bytes().to_vec())
}
