//! `firebreak run` of the Lambda playbook against moto (issue 13): a function that GuardDuty
//! Lambda Protection saw mining, with a public function URL, a queue feeding it and an
//! execution role, is stopped: reserved concurrency 0, its mapping disabled, its URL behind
//! IAM, its role's sessions revoked; the function is kept; a second run changes nothing; a
//! dry run changes nothing.

use serde_json::Value;

use crate::support::{self, finding_file, run_report, step_of, unique};

/// A seeded function and what it is made of.
pub(crate) struct Function {
    pub name: String,
    pub role: String,
    pub mapping: String,
}

/// A Python function with an execution role, a public function URL (AuthType NONE, and the
/// statement the console adds for it) and an SQS queue feeding it.
pub(crate) async fn function(config: &aws_config::SdkConfig) -> Function {
    let iam = aws_sdk_iam::Client::new(config);
    let role = unique("thumbnailer-exec");
    let role_arn = support::service_role(&iam, &role, "lambda.amazonaws.com", "/").await;
    let lambda = aws_sdk_lambda::Client::new(config);
    let name = unique("thumbnailer");
    lambda
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(&role_arn)
        .handler("index.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(
                    include_bytes!("../../data/drill/function.zip").as_slice(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    lambda
        .create_function_url_config()
        .function_name(&name)
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    lambda
        .add_permission()
        .function_name(&name)
        .statement_id("FunctionURLAllowPublicAccess")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .function_url_auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    // A grant to one service for one bucket: not public, and kept.
    lambda
        .add_permission()
        .function_name(&name)
        .statement_id("UploadsBucketInvokes")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads")
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(config);
    let queue = sqs
        .create_queue()
        .queue_name(unique("uploads"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let mapping = lambda
        .create_event_source_mapping()
        .function_name(&name)
        .event_source_arn(queue_arn)
        .enabled(true)
        .send()
        .await
        .unwrap()
        .uuid()
        .unwrap()
        .to_string();
    Function {
        name,
        role: role_arn,
        mapping,
    }
}

/// The finding GuardDuty gives for the function mining.
pub(crate) fn lambda_finding(f: &Function) -> std::path::PathBuf {
    finding_file("lambda-bitcoin.json", |v| {
        v["id"] = Value::String(unique("finding"));
        v["resource"]["lambdaDetails"]["functionName"] = f.name.clone().into();
        v["resource"]["lambdaDetails"]["functionArn"] =
            format!("arn:aws:lambda:us-east-1:123456789012:function:{}", f.name).into();
        v["resource"]["lambdaDetails"]["role"] = f.role.clone().into();
    })
}

/// The Sids of a function's resource policy: those granting to any principal, and the others.
pub(crate) async fn public_statements(config: &aws_config::SdkConfig, name: &str) -> Value {
    let policy = aws_sdk_lambda::Client::new(config)
        .get_policy()
        .function_name(name)
        .send()
        .await
        .ok()
        .and_then(|p| p.policy().map(str::to_string))
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
        .unwrap_or(Value::Null);
    let (public, others): (Vec<&Value>, Vec<&Value>) = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .partition(|s| s["Principal"] == "*");
    let sids = |l: Vec<&Value>| l.iter().map(|s| s["Sid"].clone()).collect::<Vec<_>>();
    serde_json::json!({"public": sids(public), "others": sids(others)})
}

/// What the test reads back: reserved concurrency, the mapping's state, the URL's auth type,
/// the resource policy's statements and the role's inline policies.
pub(crate) async fn end_state(config: &aws_config::SdkConfig, f: &Function) -> Value {
    let lambda = aws_sdk_lambda::Client::new(config);
    let reserved = lambda
        .get_function_concurrency()
        .function_name(&f.name)
        .send()
        .await
        .unwrap()
        .reserved_concurrent_executions();
    let mapping = lambda
        .get_event_source_mapping()
        .uuid(&f.mapping)
        .send()
        .await
        .unwrap()
        .state()
        .map(str::to_string);
    let auth = lambda
        .get_function_url_config()
        .function_name(&f.name)
        .send()
        .await
        .unwrap()
        .auth_type()
        .as_str()
        .to_string();
    let role = f.role.rsplit('/').next().unwrap();
    let policies = crate::support::role_policy_names(config, role).await;
    let statements = public_statements(config, &f.name).await;
    serde_json::json!({"reserved": reserved, "mapping": mapping, "auth": auth,
        "statements": statements, "role_policies": policies})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mining_function_is_stopped_and_kept() {
    let moto = support::private_moto();
    let config = moto.config().await;
    let f = function(&config).await;
    let finding = lambda_finding(&f);

    let open = serde_json::json!({"reserved": null, "mapping": "Enabled", "auth": "NONE",
        "statements": {"public": ["FunctionURLAllowPublicAccess"], "others": ["UploadsBucketInvokes"]},
        "role_policies": []});
    assert_eq!(end_state(&config, &f).await, open);
    let dry = run_report(&moto, &finding, "lambda-compromise", &["--dry-run"]);
    assert_eq!(dry["status"], "dry_run", "{dry:#}");
    assert_eq!(
        end_state(&config, &f).await,
        open,
        "a dry run changed the function"
    );

    let report = run_report(&moto, &finding, "lambda-compromise", &[]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let step = |id: &str| step_of(&report, id);
    for id in [
        "throttle",
        "disable_triggers",
        "restrict_url",
        "remove_public_permissions",
        "revoke_role_sessions",
    ] {
        assert_eq!(step(id)["changed"], true, "{id}: {}", step(id));
    }
    let capture = step("capture")["outputs"].clone();
    assert_eq!(capture["role_arn"], f.role.as_str());
    assert_eq!(capture["has_policy"], true);
    assert_eq!(
        capture["event_source_mappings"],
        serde_json::json!([f.mapping])
    );
    assert!(
        capture["code_sha256"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(
        step("disable_triggers")["outputs"]["disabled_mappings"],
        serde_json::json!([f.mapping])
    );
    assert_eq!(
        step("remove_public_permissions")["outputs"]["removed"],
        serde_json::json!(["FunctionURLAllowPublicAccess"])
    );
    assert_eq!(
        end_state(&config, &f).await,
        serde_json::json!({"reserved": 0, "mapping": "Disabled", "auth": "AWS_IAM",
            "statements": {"public": [], "others": ["UploadsBucketInvokes"]},
            "role_policies": ["AWSRevokeOlderSessions"]})
    );

    support::run_changes_nothing(&moto, &finding, "lambda-compromise");
    // Kept: the function is the evidence.
    aws_sdk_lambda::Client::new(&config)
        .get_function()
        .function_name(&f.name)
        .send()
        .await
        .unwrap();
}
