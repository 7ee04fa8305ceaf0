//! IAM calls: users, their keys, login profiles, MFA devices, policies and groups; roles and
//! instance profiles.

use serde_json::{Map, Value, json};

use super::{Req, each, elsewhere, text};
use crate::domain::define::Op;
use crate::domain::step::StepError;

/// Makes the call `q` asks for.
pub(super) async fn call(q: &Req<'_, '_>) -> Result<Value, StepError> {
    let args = q.args;
    match q.op {
        Op::IamGetLoginProfile => {
            let r = send!(
                q,
                iam.get_login_profile().user_name(text(args, "UserName")?)
            );
            let p = r.login_profile();
            Ok(json!({"LoginProfile": {
                "UserName": p.map(|p| p.user_name()),
                "CreateDate": p.map(|p| p.create_date().to_string()),
                "PasswordResetRequired": p.map(|p| p.password_reset_required()),
            }}))
        }
        Op::IamDeleteLoginProfile => {
            send!(
                q,
                iam.delete_login_profile()
                    .user_name(text(args, "UserName")?)
            );
            Ok(json!({}))
        }
        Op::IamGetRolePolicy => {
            let r = send!(
                q,
                iam.get_role_policy()
                    .role_name(text(args, "RoleName")?)
                    .policy_name(text(args, "PolicyName")?)
            );
            // As IAM gives it: URL-encoded.
            Ok(json!({
                "RoleName": r.role_name(),
                "PolicyName": r.policy_name(),
                "PolicyDocument": r.policy_document(),
            }))
        }
        Op::IamPutRolePolicy => {
            send!(
                q,
                iam.put_role_policy()
                    .role_name(text(args, "RoleName")?)
                    .policy_name(text(args, "PolicyName")?)
                    .policy_document(text(args, "PolicyDocument")?)
            );
            Ok(json!({}))
        }
        Op::IamGetUser => {
            let r = send!(q, iam.get_user().user_name(user(args)?));
            let u = r.user();
            Ok(json!({"User": {
                "UserName": u.map(|u| u.user_name()),
                "UserId": u.map(|u| u.user_id()),
                "Arn": u.map(|u| u.arn()),
                "Path": u.map(|u| u.path()),
                "CreateDate": u.map(|u| u.create_date().to_string()),
                "PasswordLastUsed": u.and_then(|u| u.password_last_used()).map(|d| d.to_string()),
            }}))
        }
        Op::IamListUserTags => {
            let r = send!(q, iam.list_user_tags().user_name(user(args)?));
            let tags = each(r.tags(), |t| json!({"Key": t.key(), "Value": t.value()}));
            Ok(json!({"Tags": tags, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListAttachedUserPolicies => {
            let r = send!(q, iam.list_attached_user_policies().user_name(user(args)?));
            Ok(attached(r.attached_policies(), r.is_truncated()))
        }
        Op::IamAttachUserPolicy => {
            send!(
                q,
                iam.attach_user_policy()
                    .user_name(user(args)?)
                    .policy_arn(text(args, "PolicyArn")?)
            );
            Ok(json!({}))
        }
        Op::IamListUserPolicies => {
            let r = send!(q, iam.list_user_policies().user_name(user(args)?));
            Ok(json!({"PolicyNames": r.policy_names(), "IsTruncated": r.is_truncated()}))
        }
        Op::IamListGroupsForUser => {
            let r = send!(q, iam.list_groups_for_user().user_name(user(args)?));
            let groups = each(
                r.groups(),
                |g| json!({"GroupName": g.group_name(), "GroupId": g.group_id(), "Arn": g.arn()}),
            );
            Ok(json!({"Groups": groups, "IsTruncated": r.is_truncated()}))
        }
        Op::IamGetAccessKeyLastUsed => {
            let r = send!(
                q,
                iam.get_access_key_last_used()
                    .access_key_id(text(args, "AccessKeyId")?)
            );
            let l = r.access_key_last_used();
            Ok(json!({"UserName": r.user_name(), "AccessKeyLastUsed": {
                "LastUsedDate": l.and_then(|l| l.last_used_date()).map(|d| d.to_string()),
                "ServiceName": l.map(|l| l.service_name()),
                "Region": l.map(|l| l.region()),
            }}))
        }
        Op::IamGetRole => {
            let r = send!(q, iam.get_role().role_name(role(args)?));
            let r = r.role();
            Ok(json!({"Role": {
                "RoleName": r.map(|r| r.role_name()),
                "RoleId": r.map(|r| r.role_id()),
                "Arn": r.map(|r| r.arn()),
                "Path": r.map(|r| r.path()),
                "CreateDate": r.map(|r| r.create_date().to_string()),
                "AssumeRolePolicyDocument": r.and_then(|r| r.assume_role_policy_document()),
                "MaxSessionDuration": r.and_then(|r| r.max_session_duration()),
            }}))
        }
        Op::IamListAttachedRolePolicies => {
            let r = send!(q, iam.list_attached_role_policies().role_name(role(args)?));
            Ok(attached(r.attached_policies(), r.is_truncated()))
        }
        Op::IamListRolePolicies => {
            let r = send!(q, iam.list_role_policies().role_name(role(args)?));
            Ok(json!({"PolicyNames": r.policy_names(), "IsTruncated": r.is_truncated()}))
        }
        Op::IamListInstanceProfilesForRole => {
            let r = send!(
                q,
                iam.list_instance_profiles_for_role().role_name(role(args)?)
            );
            let profiles = each(r.instance_profiles(), |p| {
                json!({
                    "InstanceProfileName": p.instance_profile_name(),
                    "InstanceProfileId": p.instance_profile_id(),
                    "Arn": p.arn(),
                })
            });
            Ok(json!({"InstanceProfiles": profiles, "IsTruncated": r.is_truncated()}))
        }
        Op::IamListAccessKeys => {
            let r = send!(q, iam.list_access_keys().user_name(text(args, "UserName")?));
            let keys = each(r.access_key_metadata(), |k| {
                json!({
                    "UserName": k.user_name(),
                    "AccessKeyId": k.access_key_id(),
                    "Status": k.status().map(|s| s.as_str()),
                    "CreateDate": k.create_date().map(|d| d.to_string()),
                })
            });
            Ok(json!({"AccessKeyMetadata": keys, "IsTruncated": r.is_truncated()}))
        }
        Op::IamUpdateAccessKey => {
            let status = text(args, "Status")?;
            send!(
                q,
                iam.update_access_key()
                    .user_name(text(args, "UserName")?)
                    .access_key_id(text(args, "AccessKeyId")?)
                    .status(aws_sdk_iam::types::StatusType::from(status))
            );
            Ok(json!({}))
        }
        Op::IamListMfaDevices => {
            let r = send!(q, iam.list_mfa_devices().user_name(text(args, "UserName")?));
            let devices = each(r.mfa_devices(), |d| {
                json!({
                    "UserName": d.user_name(),
                    "SerialNumber": d.serial_number(),
                    "EnableDate": d.enable_date().to_string(),
                })
            });
            Ok(json!({"MFADevices": devices, "IsTruncated": r.is_truncated()}))
        }
        Op::IamDeactivateMfaDevice => {
            send!(
                q,
                iam.deactivate_mfa_device()
                    .user_name(text(args, "UserName")?)
                    .serial_number(text(args, "SerialNumber")?)
            );
            Ok(json!({}))
        }
        Op::IamGetInstanceProfile => {
            let r = send!(
                q,
                iam.get_instance_profile()
                    .instance_profile_name(text(args, "InstanceProfileName")?)
            );
            let p = r.instance_profile();
            Ok(json!({"InstanceProfile": {
                "InstanceProfileName": p.map(|p| p.instance_profile_name()),
                "Arn": p.map(|p| p.arn()),
                "Roles": p.map(|p| p.roles().iter().map(|r| json!({
                    "RoleName": r.role_name(),
                    "Arn": r.arn(),
                })).collect::<Vec<_>>()),
            }}))
        }
        other => Err(elsewhere(other)),
    }
}

fn role(args: &Map<String, Value>) -> Result<&str, StepError> {
    text(args, "RoleName")
}

fn user(args: &Map<String, Value>) -> Result<&str, StepError> {
    text(args, "UserName")
}

/// The answer of a list of attached managed policies (a user's or a role's).
fn attached(policies: &[aws_sdk_iam::types::AttachedPolicy], truncated: bool) -> Value {
    let policies: Vec<Value> = policies
        .iter()
        .map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}))
        .collect();
    json!({"AttachedPolicies": policies, "IsTruncated": truncated})
}
