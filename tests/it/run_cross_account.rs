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

    let finding = crate::support::leaked_key_finding(Some(other), &user, &there_key);
    let out = moto().firebreak(&["run", "--output", "json", finding.to_str().unwrap()]);
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
}
