//! Lambda functions in the step vocabulary: record the function, stop every invocation
//! (reserved concurrency 0), stop its event source mappings and put its function URL behind
//! IAM. Nothing is deleted: the function, its code and its configuration are the evidence.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Where};

const FUNCTION: &[(&str, Arg)] = &[("FunctionName", Arg::Param("function_name"))];

/// The function's reserved concurrency (null when it has none).
const RESERVED: Ask = Ask::to(Op::LambdaGetFunctionConcurrency, FUNCTION).keeping(&[Pick::at(
    "reserved",
    "ReservedConcurrentExecutions",
    Lit::Null,
)]);

/// `lambda.throttle_function`: reserved concurrency 0, so that nothing invokes the function
/// (its URL, triggers and direct calls are throttled); the concurrency it had is the output.
pub const THROTTLE_FUNCTION: Def = Def {
    before: &[RESERVED],
    refuse: &[],
    done_when: Cond::Is("before.reserved", Lit::Int(0)),
    plan: "set the reserved concurrency of function {function_name} to 0 (every invocation throttled)",
    change: &[Ask::to(
        Op::LambdaPutFunctionConcurrency,
        &[
            ("FunctionName", Arg::Param("function_name")),
            ("ReservedConcurrentExecutions", Arg::Int(0)),
        ],
    )],
    after: &[RESERVED],
    verified_when: Some(Cond::Is("after.reserved", Lit::Int(0))),
    unverified: "function {function_name} does not read back with reserved concurrency 0",
    outputs: &[("previous_concurrency", "before.reserved")],
};

/// The function's event source mappings that are on (or on their way on): every one but
/// those `Disabled`, `Disabling` or `Deleting`.
const ACTIVE: Where = Where {
    list: "EventSourceMappings",
    key: "State",
    is: Arg::Text("Disabled"),
    cmp: Cmp::Ne,
    except: &[("State", "Disabling"), ("State", "Deleting")],
    take: &["UUID"],
    first: false,
};

const MAPPINGS: Ask = Ask::to(Op::LambdaListEventSourceMappings, FUNCTION)
    .keeping(&[Pick::selected("active", &ACTIVE, Lit::EmptyList)]);

/// `lambda.disable_event_source_mappings`: every event source mapping of the function
/// disabled (kept, with its position in the stream), so that no queue or stream feeds it.
pub const DISABLE_EVENT_SOURCE_MAPPINGS: Def = Def {
    before: &[MAPPINGS],
    refuse: &[],
    done_when: Cond::Empty("before.active"),
    plan: "disable every event source mapping of function {function_name}",
    change: &[Ask::to(
        Op::LambdaUpdateEventSourceMapping,
        &[("UUID", Arg::Item), ("Enabled", Arg::Bool(false))],
    )
    .for_each("before.active")],
    after: &[MAPPINGS],
    verified_when: Some(Cond::Empty("after.active")),
    unverified: "function {function_name} still has an enabled event source mapping",
    outputs: &[("disabled_mappings", "before.active")],
};

/// The function URL's auth type (empty when the function has no URL).
const URL: Ask = Ask::to(Op::LambdaGetFunctionUrlConfig, FUNCTION)
    .absent_on(&["ResourceNotFoundException"], None)
    .keeping(&[
        Pick::at("auth_type", "AuthType", Lit::Text("")),
        Pick::at("url", "FunctionUrl", Lit::Text("")),
    ]);

const OPEN_BEFORE: Cond = Cond::Is("before.auth_type", Lit::Text("NONE"));
const OPEN_AFTER: Cond = Cond::Is("after.auth_type", Lit::Text("NONE"));

/// `lambda.restrict_function_url`: a function URL that anyone can call (`AuthType` `NONE`)
/// made to need AWS credentials (`AWS_IAM`). The URL itself is kept (deleting it would give the
/// function a new one when it is restored); a function without a URL has nothing to do.
pub const RESTRICT_FUNCTION_URL: Def = Def {
    before: &[URL],
    refuse: &[],
    done_when: Cond::Not(&OPEN_BEFORE),
    plan: "make the function URL of {function_name} require AWS credentials (AuthType AWS_IAM)",
    change: &[Ask::to(
        Op::LambdaUpdateFunctionUrlConfig,
        &[
            ("FunctionName", Arg::Param("function_name")),
            ("AuthType", Arg::Text("AWS_IAM")),
        ],
    )],
    after: &[URL],
    verified_when: Some(Cond::Not(&OPEN_AFTER)),
    unverified: "the function URL of {function_name} still reads back with AuthType NONE",
    outputs: &[
        ("function_url", "before.url"),
        ("previous_auth_type", "before.auth_type"),
    ],
};

/// `lambda.capture_function`: the function's configuration (without its environment's values,
/// which hold secrets), the SHA-256 of its code, its execution role, reserved concurrency,
/// resource policy, function URL and event source mappings.
pub const CAPTURE_FUNCTION: Def = Def::capture(
    &[
        Ask::to(Op::LambdaGetFunctionConfiguration, FUNCTION).keeping(&[
            Pick::member("function_arn", "FunctionArn"),
            Pick::member("role", "Role"),
            Pick::member("code_sha256", "CodeSha256"),
            Pick::member("last_modified", "LastModified"),
            Pick::member("version", "Version"),
        ]),
        RESERVED,
        Ask::to(Op::LambdaGetPolicy, FUNCTION)
            .absent_on(&["ResourceNotFoundException"], None)
            .keeping(&[
                Pick::present("has_policy"),
                Pick::member("policy", "Policy"),
            ]),
        URL,
        Ask::to(Op::LambdaListEventSourceMappings, FUNCTION).keeping(&[Pick::selected(
            "mappings",
            &Where {
                list: "EventSourceMappings",
                key: "UUID",
                is: Arg::Text(""),
                cmp: Cmp::All,
                except: &[],
                take: &["UUID"],
                first: false,
            },
            Lit::EmptyList,
        )]),
    ],
    &[
        ("function_arn", "before.function_arn"),
        ("role_arn", "before.role"),
        ("code_sha256", "before.code_sha256"),
        ("reserved_concurrency", "before.reserved"),
        ("has_policy", "before.has_policy"),
        ("function_url", "before.url"),
        ("event_source_mappings", "before.mappings"),
    ],
);

/// The statements of the function's resource policy that grant to every principal
/// (`"Principal": "*"`, the only public form Lambda's `AddPermission` writes): their Sids.
/// Conditions are not weighed: a compromised function is kept from every caller until people
/// have looked (the policy is in the capture and the step's record, for putting back).
const PUBLIC: Where = Where {
    list: "Statement",
    key: "Principal",
    is: Arg::Text("*"),
    cmp: Cmp::Eq,
    except: &[],
    take: &["Sid"],
    first: false,
};

/// The function's resource policy: its text, and the Sids of its public statements (none when
/// it has no policy).
const POLICY: Ask = Ask::to(Op::LambdaGetPolicy, FUNCTION)
    .absent_on(&["ResourceNotFoundException"], None)
    .keeping(&[
        Pick::at("policy", "Policy", Lit::Null),
        Pick::selected_in("public", "Policy", &PUBLIC, Lit::EmptyList),
    ]);

/// `lambda.remove_public_permissions`: every statement of the function's resource policy that
/// grants to any principal removed (a public invoke, or a function URL open to every AWS
/// account once it is behind IAM), one `RemovePermission` by Sid; the others stay.
pub const REMOVE_PUBLIC_PERMISSIONS: Def = Def {
    before: &[POLICY],
    refuse: &[],
    done_when: Cond::Empty("before.public"),
    plan: "remove every statement granting any principal from the resource policy of function {function_name}",
    change: &[Ask::to(
        Op::LambdaRemovePermission,
        &[
            ("FunctionName", Arg::Param("function_name")),
            ("StatementId", Arg::Item),
        ],
    )
    .for_each("before.public")],
    after: &[POLICY],
    verified_when: Some(Cond::Empty("after.public")),
    unverified: "function {function_name} still grants to any principal in its resource policy",
    outputs: &[("removed", "before.public")],
};
