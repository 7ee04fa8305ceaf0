//! Cross-account containment (issue 3): a finding for another account is contained there, through
//! the assumed responder role, and the caller's own account is left alone.

use aws_sdk_iam::types::StatusType;

use crate::support::{moto, stderr, unique};

#[tokio::test]
async fn another_accounts_finding_acts_in_that_account_only() {
    let config = moto().config().await;
    let other = "111122223333";
    // The test reaches the other account the way firebreak does: by assuming a role there.
    let other_config = crate::support::Account::with_id(other).await.config;
    let here = aws_sdk_iam::Client::new(&config);
    let there = aws_sdk_iam::Client::new(&other_config);
    let user = unique("mallory");
    here.create_user().user_name(&user).send().await.unwrap();
    let here_key = here
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();
    there.create_user().user_name(&user).send().await.unwrap();
    let there_key = there
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string();

    // Two findings of that key in one `run`: each execution acts in a role session of its own,
    // named after it (issue 14, item 9), and its manifest says which.
    let findings: Vec<String> = (0..2)
        .map(|_| {
            let path = crate::support::leaked_key_finding(Some(other), &user, &there_key);
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            v.to_string()
        })
        .collect();
    let finding = std::env::temp_dir().join(format!("{}.ndjson", unique("findings")));
    std::fs::write(&finding, findings.join("\n") + "\n").unwrap();
    let evidence = std::env::temp_dir().join(unique("evidence-cross"));
    let out = moto().firebreak(&[
        "run",
        "--evidence",
        evidence.to_str().unwrap(),
        finding.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("via role FirebreakResponder"),
        "{}",
        stderr(&out)
    );

    let status = |keys: aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput| {
        keys.access_key_metadata()[0].status().cloned()
    };
    assert_eq!(
        status(
            there
                .list_access_keys()
                .user_name(&user)
                .send()
                .await
                .unwrap()
        ),
        Some(StatusType::Inactive)
    );
    assert_eq!(
        status(
            here.list_access_keys()
                .user_name(&user)
                .send()
                .await
                .unwrap()
        ),
        Some(StatusType::Active)
    );
    let here_keys = here
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        here_keys.access_key_metadata()[0].access_key_id(),
        Some(here_key.as_str()),
        "the caller's own key is the one left Active"
    );
    assert!(!crate::support::deny_all_attached(&here, &user).await);
    assert!(crate::support::deny_all_attached(&there, &user).await);
    let mut sessions = Vec::new();
    for account in std::fs::read_dir(evidence.join(other)).unwrap() {
        for execution in std::fs::read_dir(account.unwrap().path()).unwrap() {
            for record in std::fs::read_dir(execution.unwrap().path()).unwrap() {
                let path = record.unwrap().path();
                if !path.to_string_lossy().ends_with("-manifest.json") {
                    continue;
                }
                let m: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                let id = m["execution_id"].as_str().unwrap();
                assert_eq!(
                    m["acted_as"],
                    format!("arn:aws:sts::{other}:assumed-role/FirebreakResponder/firebreak-{id}"),
                    "{m:#}"
                );
                sessions.push(m["acted_as"].clone());
            }
        }
    }
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_ne!(sessions[0], sessions[1]);
}

/// Each account's own ExternalId (`external_ids:` in the configuration) is what firebreak
/// passes when it assumes the responder role there; an account without one gets
/// `--external-id`'s. The proxy in front of the emulator refuses every AssumeRole that carries
/// the shared id, as a role whose trust policy wants its own id would: the account with its own
/// id is contained, the other is not and says why. (The emulator checks `sts:ExternalId` only
/// for roles of the caller's own account, hence the proxy.)
#[tokio::test]
async fn each_account_is_reached_with_its_own_external_id() {
    let (moto, proxy) = crate::support::private_moto_behind(crate::fault_proxy::Faults {
        every: 0,
        deny_actions: Vec::new(),
        deny_body: Some("ExternalId=shared-id".into()),
        long_denial: false,
        bucket_owner: None,
        snapshot_states: Vec::new(),
    });
    let seeded = |account: &'static str| {
        let moto = &moto;
        async move {
            let config = crate::support::Account::on(moto, account).await.config;
            let (user, key) = crate::run_s3::user_with_key(&config).await;
            (aws_sdk_iam::Client::new(&config), user, key)
        }
    };
    let (own_iam, own_user, own_key) = seeded("222233334444").await;
    let (shared_iam, shared_user, shared_key) = seeded("333344445555").await;
    let config = crate::support::config_file("external_ids:\n  '222233334444': own-id\n");
    let run = |account: &str, user: &str, key: &str| {
        let finding = crate::support::leaked_key_finding(Some(account), user, key);
        crate::support::firebreak_at(
            &proxy.endpoint,
            &[
                "run",
                "--external-id",
                "shared-id",
                "--config",
                config.to_str().unwrap(),
                finding.to_str().unwrap(),
            ],
        )
    };
    let status = |iam: aws_sdk_iam::Client, user: String| async move {
        iam.list_access_keys()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .access_key_metadata()[0]
            .status()
            .cloned()
    };

    let out = run("222233334444", &own_user, &own_key);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(own_iam, own_user).await, Some(StatusType::Inactive));

    let out = run("333344445555", &shared_user, &shared_key);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("AccessDenied"), "{}", stderr(&out));
    assert_eq!(
        status(shared_iam, shared_user).await,
        Some(StatusType::Active)
    );
    // The ids themselves are not printed.
    assert!(!stderr(&out).contains("shared-id"), "{}", stderr(&out));
}
