//! The step vocabulary an action is defined in, once, for both engines.
//!
//! A definition ([`Def`]) says what an action reads, when nothing needs changing, what it
//! changes, how it reads the change back and what it gives as outputs, in terms of AWS
//! operations ([`Op`]) and named values ([`Pick`]). The local engine interprets it
//! (`crate::engine::local`, one adapter per operation over the AWS SDK); the ASL compiler
//! (`crate::engine::asl`) turns it into Task, Choice and Pass states. Neither restates an action that
//! has a definition. This module is pure: it knows JSON, not the SDK.
//!
//! Values: every read's answer is the operation's response as Step Functions' SDK integrations
//! give it (PascalCase members); a [`Pick`] names one value of it under the read's phase
//! (`before.<name>`, `change.<name>`, `after.<name>`), with a default when the member is
//! missing or the read answers "not there" ([`Absent`]). Conditions compare picked values with
//! constants. Parameters are the step's own (`with:` and the catalog's defaults). Two values
//! are every step's: [`NOW`], the time the step started, and [`FINDING_ID`].

pub mod artifact;
pub mod backup;
pub mod ec2;
pub mod ecs;
pub mod eks;
pub mod elbv2;
mod eval;
pub mod iam;
pub mod isolation;
pub mod lambda;
pub mod notify;
mod op;
pub mod rds;
pub mod s3;

pub use eval::*;
pub use op::Op;

use serde_json::{Map, Value};

/// Which implementation of the actions runs: firebreak's own (local, `run`/`serve`) or a
/// compiled state machine (Step Functions). A definition's ask can be one engine's only
/// ([`Ask::only`]); everything else both make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Local,
    Sfn,
}

/// A value in a call's parameters.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    /// A parameter of the step (required).
    Param(&'static str),
    /// A parameter of the step; the member is left out when the playbook does not give it.
    IfGiven(&'static str),
    Text(&'static str),
    Bool(bool),
    Int(i64),
    /// A list of one parameter's value.
    ListOf(&'static str),
    Obj(&'static [(&'static str, Arg)]),
    /// The item of an [`Ask::each`] the call is made for.
    Item,
    /// A value picked earlier (`before.group`).
    Value(&'static str),
    /// A list of values.
    List(&'static [Arg]),
    /// A key-value parameter (tags) as the `[{Key, Value}]` list AWS calls take.
    Tags(&'static str),
    /// The part after the last separator (one character) of a picked value: an instance
    /// profile's name from its ARN (`arn:aws:iam::…:instance-profile/path/name`, `/`), a
    /// service's name from an ECS task's group (`service:NAME`, `:`).
    LastPart(&'static str, &'static str),
    /// For an ask made per item and [`Ask::paired`]: the paired list's value at the item's
    /// place (a target group's targets, for the group).
    Paired,
    /// An object as JSON text (a policy document); a member of a call's own arguments, not
    /// inside another (a state machine builds the object in a state of its own first).
    Json(&'static [(&'static str, Arg)]),
    /// A text with each `{}` replaced by the text of one argument, in order (a snapshot's
    /// description); the arguments are parameters, values or the item (`States.Format`).
    Format(&'static str, &'static [Arg]),
    /// A field of a parameter that is an ARN (`:`-separated, counted from 0: 1 is the
    /// partition), as an argument of an [`Arg::Format`]. (`States.StringSplit` leaves empty
    /// fields out: only the fields before the first empty one, `::` in an S3 ARN, are the same
    /// on both engines.)
    ArnPart(&'static str, usize),
    /// A policy document with one statement added, as JSON text: the document is the JSON text
    /// a picked value holds (a bucket's policy; none yet when the value is null, then a new
    /// document), a `Statement` that is one statement becomes a list, and the statement
    /// (built from its members) is appended to it. A member of a call's own arguments, like
    /// [`Arg::Json`]. A document that is not JSON text of a policy is refused first
    /// ([`Cond::PolicyText`]).
    WithStatement(&'static str, &'static [(&'static str, Arg)]),
    /// A picked list with one item (built from its members) appended (an object's tags with
    /// one more). Built before the call, like [`Arg::Json`], but it may stand inside a member
    /// (`Tagging.TagSet`); not in a call per item.
    WithItem(&'static str, &'static [(&'static str, Arg)]),
}

/// The finding's id, a value of every definition (the tag that marks what firebreak made for
/// it).
pub const FINDING_ID: &str = "step.finding_id";

/// The time the step started (ISO 8601, UTC), a value of every definition: the local engine's
/// clock as the interpreter starts, a state machine's `$$.State.EnteredTime` as the step's
/// states start.
pub const NOW: &str = "step.now";

/// One AWS call and its parameters (members as the API names them).
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub op: Op,
    pub args: &'static [(&'static str, Arg)],
}

/// A constant a picked value defaults to or is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Text(&'static str),
    /// The empty list (what a list picked by calls per item is when no call is made).
    EmptyList,
}

impl Lit {
    pub fn json(self) -> Value {
        match self {
            Lit::Null => Value::Null,
            Lit::Bool(b) => Value::Bool(b),
            Lit::Int(i) => Value::from(i),
            Lit::Text(t) => Value::String(t.into()),
            Lit::EmptyList => Value::Array(Vec::new()),
        }
    }
}

/// Where a picked value comes from in a call's answer.
#[derive(Debug, Clone, Copy)]
pub enum From {
    /// `true` when the call succeeded (and the default when it answered "not there").
    Present,
    /// A member at a dotted path (`PublicAccessBlockConfiguration.BlockPublicAcls`) that may
    /// be missing (then the default).
    At(&'static str),
    /// A member every successful answer has (`Role.Arn`): selected from the answer, which keeps
    /// the rest of it out of the state machine's data.
    Member(&'static str),
    /// Every value at a path through one list, as a list (`AttachedPolicies[*].PolicyArn`,
    /// or a list member itself, `PolicyNames`); empty when there is none.
    Each(&'static str),
    /// The items of a list (`AccessKeyMetadata`) whose `key` member is (or, with `negate`, is
    /// not) a value: each item's `take` members (one member: its value; more: an object of
    /// them). With `first`, the first such value (the default when there is none); otherwise
    /// the list. Every item must have the members named.
    Where(&'static Where),
    /// A [`From::Where`] over the JSON document a text member holds (a resource policy, which
    /// Lambda and S3 give as text): parsed first (`States.StringToJson` on a state machine).
    /// Not in a call per item.
    WhereIn(&'static str, &'static Where),
    /// The first value at a path through lists (`Reservations[*].Instances[*].State.Name`);
    /// the read fails when there is none. (For reads that name their resource: AWS answers an
    /// error, not an empty list, when it does not exist.)
    First(&'static str),
    /// Every value at a path through lists, without repeats, in the order first met (the
    /// security groups of all of an instance's network interfaces).
    Distinct(&'static str),
    /// A base64 member (an instance's console output), kept as evidence decoded and scrubbed
    /// (`scrub::console_output`): base64 would carry a boot script's password past the
    /// scrubber. Evidence only: a state machine keeps its default in the state (its record of
    /// the read, from the history, is decoded the same way), so no condition or output reads
    /// it.
    Decoded(&'static str),
    /// For an ask made per item: the item the call was made for (the target groups an
    /// instance was deregistered from).
    Item,
    /// An IAM policy document (IAM answers it URL-encoded), as JSON. Evidence only, like
    /// [`From::Decoded`]: a state machine has no intrinsic that decodes it.
    Policy(&'static str),
    /// The time before which an IAM policy document (URL-encoded) denies every session, when
    /// it is a revocation ([`revoked_before`]); the default otherwise. A state machine cannot
    /// decode the document: it keeps the default, so a condition on this value holds there
    /// as it does for a document that is no revocation.
    RevokedBefore(&'static str),
}

/// How a [`Where`] compares an item's member with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    /// A timestamp later than the value; every item when the value is a parameter the
    /// playbook does not give.
    Later,
    /// Every item (no comparison).
    All,
}

/// A selection of list items, for [`From::Where`].
#[derive(Debug, Clone, Copy)]
pub struct Where {
    /// The list member of the answer (`AccessKeyMetadata`), or one list in each item of another
    /// (`DBInstances[*].VpcSecurityGroups`: the first item's, for a call naming one resource).
    pub list: &'static str,
    pub key: &'static str,
    pub is: Arg,
    pub cmp: Cmp,
    /// Items whose member (a path within the item) is this constant are left out, whatever
    /// the comparison says (a target already `draining`).
    pub except: &'static [(&'static str, &'static str)],
    /// The members taken; one taken member may be a dotted path within the item
    /// (`IamInstanceProfile.Arn`).
    pub take: &'static [&'static str],
    pub first: bool,
}

impl Where {
    /// Every item of `list` (no comparison; `key` is a member each has): their `take`, or the
    /// first's.
    pub const fn every(
        list: &'static str,
        key: &'static str,
        take: &'static [&'static str],
        first: bool,
    ) -> Where {
        Where {
            list,
            key,
            is: Arg::Text(""),
            cmp: Cmp::All,
            except: &[],
            take,
            first,
        }
    }

    /// What an item's member is compared with: a constant (`Ok`; null for an argument that
    /// is not one value), or the step's parameter of that name (`Err`).
    pub fn wanted(&self) -> Result<Value, &'static str> {
        match self.is {
            Arg::Param(p) | Arg::IfGiven(p) => Err(p),
            Arg::Text(t) => Ok(Value::String(t.into())),
            Arg::Bool(b) => Ok(Value::Bool(b)),
            Arg::Int(i) => Ok(Value::from(i)),
            Arg::ListOf(_)
            | Arg::Obj(_)
            | Arg::Item
            | Arg::Value(_)
            | Arg::List(_)
            | Arg::Tags(_)
            | Arg::LastPart(..)
            | Arg::Paired
            | Arg::Json(_)
            | Arg::Format(..)
            | Arg::ArnPart(..)
            | Arg::WithStatement(..)
            | Arg::WithItem(..) => Ok(Value::Null),
        }
    }

    /// The selected values of `answer`, with the step's parameters; `later` compares two
    /// timestamps (`Err` for one that is not a timestamp).
    pub fn select(
        &self,
        answer: &Value,
        params: &Map<String, Value>,
        later: Later,
    ) -> Result<Value, String> {
        let want = match self.wanted() {
            Err(p) => params.get(p).cloned().unwrap_or(Value::Null),
            Ok(v) => v,
        };
        let items = at_path(answer, self.list)
            .first()
            .and_then(|l| l.as_array())
            .cloned()
            .unwrap_or_default();
        let mut kept = Vec::new();
        for i in &items {
            let member = at_path(i, self.key)
                .first()
                .copied()
                .unwrap_or(&Value::Null);
            let keep = match self.cmp {
                Cmp::Eq => member == &want,
                Cmp::Ne => member != &want,
                Cmp::Later if want.is_null() || want.as_str() == Some("") => true,
                Cmp::Later => later(member, &want)?,
                Cmp::All => true,
            };
            let excepted = self
                .except
                .iter()
                .any(|(m, v)| at_path(i, m).first().and_then(|x| x.as_str()) == Some(*v));
            if keep && !excepted {
                kept.push(i);
            }
        }
        let taken: Vec<Value> = kept
            .into_iter()
            .map(|i| {
                let member = |m: &str| at_path(i, m).first().map_or(Value::Null, |v| (*v).clone());
                match self.take {
                    [one] => member(one),
                    many => {
                        Value::Object(many.iter().map(|m| ((*m).to_string(), member(m))).collect())
                    }
                }
            })
            .collect();
        Ok(if self.first {
            taken.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(taken)
        })
    }
}

/// A named value taken from a call's answer.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    pub name: &'static str,
    pub from: From,
    /// The value when the member is missing or the call answered "not there".
    pub default: Lit,
}

/// The code of an [`Absent`] that takes any refusal for "not there": a read that is
/// best-effort evidence ([`Ask::best_effort`]).
pub const ANY_REFUSAL: &str = "*";

/// An error that means "the thing read is not there", which is an answer, not a failure.
#[derive(Debug, Clone, Copy)]
pub struct Absent {
    /// The AWS error codes (the first is AWS's; others are what other implementations of the
    /// API answer).
    pub codes: &'static [&'static str],
    /// For services whose SDK-integration errors do not carry the code (S3's reach Step
    /// Functions as the generic `S3.S3Exception`): a text of the error's cause that identifies
    /// it (the message AWS and the emulator both give).
    pub sfn_cause: Option<&'static str>,
}

/// One call with the values kept from its answer.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    pub call: Call,
    /// The call is made once per item of this picked list (`before.targets`), the item
    /// its [`Arg::Item`]; each pick is then the list of the items' values (`Present`,
    /// `Member`, `Item` and `Where` picks).
    pub each: Option<&'static str>,
    /// With `each`: a list picked alongside it, place for place (a target group's targets,
    /// for each group), its value the call's [`Arg::Paired`]; the call is made only for the
    /// items whose paired value is a list that is not empty.
    pub paired: Option<&'static str>,
    /// The call is made only when this holds over the values picked so far (earlier phases,
    /// and earlier asks of its own phase); otherwise its picks keep their defaults.
    pub when: Option<Cond>,
    pub absent: Option<Absent>,
    pub picks: &'static [Pick],
    /// The call is made by this engine only (the other keeps the picks' defaults): what one
    /// engine cannot do, said where the call is. A defined action's `engine_only` permissions
    /// and `sfn_unavailable` outputs are derived from these asks ([`Def::engine_only`],
    /// [`Def::sfn_unavailable`]).
    pub only: Option<Engine>,
    /// With `each`: the items that are in this picked list are left out (volumes that have a
    /// snapshot already).
    pub except_in: Option<&'static str>,
    /// With `each`, in the change: the calls are made at once (independent resources, such as
    /// one snapshot per volume), not one after the other.
    pub at_once: bool,
    /// The call is made again until this holds over its picks ([`Until`]).
    pub until: Option<Until>,
    /// After the call (and its waiting), the step fails with this error when its condition
    /// holds (a snapshot that ended in error).
    pub fails: Option<Refusal>,
}

/// A read made again until what it picked shows the change done (snapshots completed): after
/// 0.5 s, then twice as long each time up to 15 s on the local engine, every 5 s on a state
/// machine; the step's timeout bounds it.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    pub holds: Cond,
    /// A boolean parameter that, when false, makes the read once (`wait`).
    pub unless: &'static str,
}

impl Ask {
    /// A call of `op` with `args`, made once by both engines, keeping nothing of its answer;
    /// the methods below add what differs (definitions read as the call and its exceptions).
    pub const fn to(op: Op, args: &'static [(&'static str, Arg)]) -> Ask {
        Ask {
            call: Call { op, args },
            each: None,
            paired: None,
            when: None,
            absent: None,
            picks: &[],
            only: None,
            except_in: None,
            at_once: false,
            until: None,
            fails: None,
        }
    }

    /// The values kept from the answer.
    pub const fn keeping(self, picks: &'static [Pick]) -> Ask {
        Ask { picks, ..self }
    }

    /// These error codes answer "not there" (see [`Absent`]).
    pub const fn absent_on(
        self,
        codes: &'static [&'static str],
        sfn_cause: Option<&'static str>,
    ) -> Ask {
        Ask {
            absent: Some(Absent { codes, sfn_cause }),
            ..self
        }
    }

    /// Made once per item of a picked list (see [`Ask::each`]).
    pub const fn for_each(self, list: &'static str) -> Ask {
        Ask {
            each: Some(list),
            ..self
        }
    }

    /// With [`Ask::for_each`]: made for the items whose value in `list`, at the same place,
    /// is a list that is not empty (see [`Ask::paired`]).
    pub const fn paired_with(self, list: &'static str) -> Ask {
        Ask {
            paired: Some(list),
            ..self
        }
    }

    /// Made only when `c` holds (see [`Ask::when`]).
    pub const fn only_when(self, c: Cond) -> Ask {
        Ask {
            when: Some(c),
            ..self
        }
    }

    /// Best-effort evidence: a refusal of the call leaves the picks at their defaults, and the
    /// call's record says what AWS answered. For reads whose absence must not stop a capture
    /// that containment waits for (an instance's console output). On the local engine a
    /// refusal is any error but a transient one (the step's retries make the read again) and a
    /// missing permission (the responder's misconfiguration fails the step); a state machine
    /// takes any error left once its retries are spent, a missing permission included: EC2's
    /// errors reach it without their code.
    pub const fn best_effort(self) -> Ask {
        self.absent_on(&[ANY_REFUSAL], None)
    }

    /// With [`Ask::for_each`]: not for the items in `list` (see [`Ask::except_in`]).
    pub const fn except_in(self, list: &'static str) -> Ask {
        Ask {
            except_in: Some(list),
            ..self
        }
    }

    /// With [`Ask::for_each`] in the change: the calls at once (see [`Ask::at_once`]).
    pub const fn at_once(self) -> Ask {
        Ask {
            at_once: true,
            ..self
        }
    }

    /// Made again until `holds`, unless the parameter `unless` is false (see [`Until`]).
    pub const fn until(self, holds: Cond, unless: &'static str) -> Ask {
        Ask {
            until: Some(Until { holds, unless }),
            ..self
        }
    }

    /// The step fails with `r`'s error when its condition holds after the call.
    pub const fn failing(self, r: Refusal) -> Ask {
        Ask {
            fails: Some(r),
            ..self
        }
    }

    /// Made by `engine` only (see [`Ask::only`]).
    pub const fn only_on(self, engine: Engine) -> Ask {
        Ask {
            only: Some(engine),
            ..self
        }
    }
}

impl Pick {
    /// A member every successful answer has ([`From::Member`]).
    pub const fn member(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::Member(path),
            default: Lit::Null,
        }
    }

    /// A member that may be missing, then `default` ([`From::At`]).
    pub const fn at(name: &'static str, path: &'static str, default: Lit) -> Pick {
        Pick {
            name,
            from: From::At(path),
            default,
        }
    }

    /// Every value at a path, as a list ([`From::Each`]).
    pub const fn each(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::Each(path),
            default: Lit::Null,
        }
    }

    /// `true` when the call answered, `false` when it answered "not there" ([`From::Present`]).
    pub const fn present(name: &'static str) -> Pick {
        Pick {
            name,
            from: From::Present,
            default: Lit::Bool(false),
        }
    }

    /// The first value at a path through lists ([`From::First`]).
    pub const fn first(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::First(path),
            default: Lit::Null,
        }
    }

    /// Every value at a path, without repeats ([`From::Distinct`]).
    pub const fn distinct(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::Distinct(path),
            default: Lit::Null,
        }
    }

    /// An IAM policy document, decoded, for evidence only ([`From::Policy`]).
    pub const fn policy(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::Policy(path),
            default: Lit::Null,
        }
    }

    /// The time an IAM policy document revokes sessions before ([`From::RevokedBefore`]).
    pub const fn revoked_before(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::RevokedBefore(path),
            default: Lit::Null,
        }
    }

    /// A base64 member, decoded and scrubbed, for evidence only ([`From::Decoded`]).
    pub const fn decoded(name: &'static str, path: &'static str) -> Pick {
        Pick {
            name,
            from: From::Decoded(path),
            default: Lit::Null,
        }
    }

    /// The item a call per item was made for ([`From::Item`]).
    pub const fn item(name: &'static str) -> Pick {
        Pick {
            name,
            from: From::Item,
            default: Lit::EmptyList,
        }
    }

    /// Items selected by a member of a JSON text's document ([`From::WhereIn`]), `default`
    /// when none is.
    pub const fn selected_in(
        name: &'static str,
        text: &'static str,
        w: &'static Where,
        default: Lit,
    ) -> Pick {
        Pick {
            name,
            from: From::WhereIn(text, w),
            default,
        }
    }

    /// Items selected by a member ([`From::Where`]), `default` when none is.
    pub const fn selected(name: &'static str, w: &'static Where, default: Lit) -> Pick {
        Pick {
            name,
            from: From::Where(w),
            default,
        }
    }
}

/// A condition over picked values (`before.status`).
#[derive(Debug, Clone, Copy)]
pub enum Cond {
    /// Always holds: an action that only reads (a capture) has nothing to change.
    Always,
    /// Never holds: an action that always acts (a notification is sent each time).
    Never,
    Is(&'static str, Lit),
    /// Two picked values are equal (`before.others`, `after.others`).
    Same(&'static str, &'static str),
    /// A picked list is empty.
    Empty(&'static str),
    /// A picked list of lists (one per item of a call per item) holds no item in any of them.
    NoneIn(&'static str),
    /// Every item of a list parameter (`tags`, as `[{Key, Value}]`) is in a picked list.
    Includes(&'static str, &'static str),
    /// A text begins with one of these texts: a parameter ([`Arg::Param`]: a URL's scheme) or
    /// a picked value ([`Arg::Value`]: an ECS task's group).
    Starts(Arg, &'static [&'static str]),
    /// Every item of one picked list is in another (every volume has a snapshot).
    Within(&'static str, &'static str),
    /// The policy document a picked value holds as JSON text (none when it is null) has this
    /// statement (built from its members), exactly.
    HasStatement(&'static str, &'static [(&'static str, Arg)]),
    /// Every statement of the policy document one picked value holds (JSON text) is in the one
    /// another holds: nothing of the first was lost.
    Keeps(&'static str, &'static str),
    /// A picked value is null or the JSON text of a policy document (an object whose
    /// `Statement` is a list or one statement). A state machine takes it as holding: a text
    /// that is not JSON fails its execution where it is parsed, and AWS gives no other.
    PolicyText(&'static str),
    /// A picked timestamp is not earlier than another time: a parameter ([`Arg::IfGiven`]:
    /// not holding when the playbook does not give it) or a value ([`Arg::Value`], [`NOW`]).
    /// Not holding when either is not a timestamp.
    NotBefore(&'static str, Arg),
    /// What only the local engine can check (that a policy document reads back as written: a
    /// state machine cannot decode it); a state machine takes it as holding. For what the
    /// read-back must show only (the definitions test).
    Local(&'static Cond),
    All(&'static [Cond]),
    Any(&'static [Cond]),
    Not(&'static Cond),
}

/// An action, defined once.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Reads of the resource before anything changes; their picks are `before.<name>`.
    pub before: &'static [Ask],
    /// Checked after the reads, in order: when one holds, the step fails with its error code
    /// and message (`{param}` as in `plan`) and changes nothing.
    pub refuse: &'static [Refusal],
    /// When this holds, the resource is already as wanted: the step succeeds, unchanged.
    pub done_when: Cond,
    /// What a dry run says it would do: `{param}` is a parameter's value.
    pub plan: &'static str,
    /// The calls that make the change, in order; their picks are `change.<name>`.
    pub change: &'static [Ask],
    /// The read-back; its picks are `after.<name>`.
    pub after: &'static [Ask],
    /// What the read-back must show (a failure is `VerifyFailed`); `None` for changes that
    /// cannot be read back (a published message).
    pub verified_when: Option<Cond>,
    /// The message of a failed read-back (`{param}` as in `plan`).
    pub unverified: &'static str,
    /// The action's outputs: name and picked value.
    pub outputs: &'static [(&'static str, &'static str)],
}

/// A permission granted only on a condition over what the call is asked to do
/// (`iam:AttachUserPolicy` when `iam:PolicyARN` is `AWSDenyAll`'s ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Narrowed {
    pub permission: &'static str,
    pub operator: &'static str,
    pub key: &'static str,
    pub value: &'static str,
}

/// A state of the resource in which the action must not go on.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub when: Cond,
    pub code: &'static str,
    pub message: &'static str,
}

impl Def {
    /// Whether a read waits for AWS to finish (an [`Ask::until`]): such an action's steps get
    /// a longer default timeout.
    pub fn waits(&self) -> bool {
        self.phases()
            .iter()
            .any(|(_, asks)| asks.iter().any(|a| a.until.is_some()))
    }

    /// A capture that refuses a resource in one of these states (one that is not there, when
    /// AWS answers that without an error).
    pub const fn refusing(self, refuse: &'static [Refusal]) -> Def {
        Def { refuse, ..self }
    }

    /// An action that only reads (a capture): its reads and outputs; nothing to change.
    pub const fn capture(
        before: &'static [Ask],
        outputs: &'static [(&'static str, &'static str)],
    ) -> Def {
        Def {
            before,
            refuse: &[],
            done_when: Cond::Always,
            plan: "",
            change: &[],
            after: &[],
            verified_when: None,
            unverified: "",
            outputs,
        }
    }
}

/// The phases values are picked in, in order.
pub const PHASES: [&str; 3] = ["before", "change", "after"];

impl Def {
    /// The asks of each phase.
    pub fn phases(&self) -> [(&'static str, &'static [Ask]); 3] {
        [
            ("before", self.before),
            ("change", self.change),
            ("after", self.after),
        ]
    }

    /// Every call the definition can make.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.before
            .iter()
            .chain(self.change)
            .chain(self.after)
            .map(|a| &a.call)
    }

    /// The IAM permissions of every call, sorted, without repeats.
    pub fn permissions(&self) -> Vec<&'static str> {
        let mut p: Vec<&str> = self
            .calls()
            .flat_map(|c| {
                let version = c.args.iter().any(|(m, _)| *m == "VersionId");
                c.op.permission()
                    .into_iter()
                    .chain(version.then(|| c.op.version_permission()).flatten())
                    // Members AWS acts on as the caller (tags given as a resource is made).
                    .chain(
                        c.args
                            .iter()
                            .flat_map(|(m, _)| c.op.member_permissions(m).iter().copied()),
                    )
            })
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }

    /// The permissions this definition needs only on a condition, because each of its calls
    /// that needs one gives the member AWS keys a condition on ([`Op::condition_key`]) a
    /// constant: the permission, the condition's operator and key, and the value. A call that
    /// gives the member anything else (a parameter) needs the permission unconditioned, and
    /// the permission is not listed here.
    pub fn conditions(&self) -> Vec<Narrowed> {
        let mut out: Vec<Narrowed> = Vec::new();
        let mut open: Vec<&str> = Vec::new();
        for call in self.calls() {
            let Some(permission) = call.op.permission() else {
                continue;
            };
            let constant = call.op.condition_key().and_then(|(member, key, operator)| {
                call.args.iter().find_map(|(m, a)| match a {
                    Arg::Text(v) if *m == member => Some(Narrowed {
                        permission,
                        operator,
                        key,
                        value: v,
                    }),
                    _ => None,
                })
            });
            match constant {
                Some(n) => out.push(n),
                None => open.push(permission),
            }
        }
        out.retain(|n| !open.contains(&n.permission));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The permissions only one engine's calls need: those of asks made by one engine that
    /// no ask of both engines needs too, sorted.
    pub fn engine_only(&self) -> Vec<(&'static str, Engine)> {
        let asks = || self.before.iter().chain(self.change).chain(self.after);
        let shared: Vec<&str> = asks()
            .filter(|a| a.only.is_none())
            .filter_map(|a| a.call.op.permission())
            .collect();
        let mut out: Vec<(&str, Engine)> = asks()
            .filter_map(|a| Some((a.call.op.permission()?, a.only?)))
            .filter(|(p, _)| !shared.contains(p))
            .collect();
        out.sort_unstable_by_key(|(p, _)| *p);
        out.dedup();
        out
    }

    /// The outputs a state machine cannot give: those picked by asks of the local engine only.
    pub fn sfn_unavailable(&self) -> Vec<&'static str> {
        let local_only: Vec<String> = self
            .phases()
            .iter()
            .flat_map(|(phase, asks)| {
                asks.iter()
                    .filter(|a| a.only == Some(Engine::Local))
                    .flat_map(|a| a.picks)
                    .map(move |p| format!("{phase}.{}", p.name))
            })
            .collect();
        self.outputs
            .iter()
            .filter(|(_, from)| local_only.iter().any(|v| v == from))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Every picked value's name as conditions and outputs refer to it (`before.status`), and
    /// [`NOW`] and [`FINDING_ID`].
    pub fn values(&self) -> Vec<String> {
        self.phases()
            .iter()
            .flat_map(|(phase, asks)| {
                asks.iter()
                    .flat_map(|a| a.picks)
                    .map(move |p| format!("{phase}.{}", p.name))
            })
            .chain([NOW.to_string(), FINDING_ID.to_string()])
            .collect()
    }
}

impl Def {
    /// Every value the definition reads: in its conditions, its calls' arguments and its
    /// outputs (each of an output's `|` alternatives).
    pub fn reads(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.done_when.names(&mut out);
        for r in self.refuse {
            r.when.names(&mut out);
        }
        if let Some(v) = &self.verified_when {
            v.names(&mut out);
        }
        for ask in self.before.iter().chain(self.change).chain(self.after) {
            if let Some(w) = &ask.when {
                w.names(&mut out);
            }
            if let Some(u) = &ask.until {
                u.holds.names(&mut out);
            }
            if let Some(f) = &ask.fails {
                f.when.names(&mut out);
            }
            out.extend(ask.except_in);
        }
        out.extend(self.calls().flat_map(|c| values_in(c.args)));
        out.extend(self.outputs.iter().flat_map(|(_, v)| v.split('|')));
        out
    }
}

/// The picked values a call's arguments pass on.
pub fn values_in(args: &[(&str, Arg)]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (_, a) in args {
        match a {
            Arg::Value(v) | Arg::LastPart(v, _) => out.push(*v),
            Arg::Obj(inner) | Arg::Json(inner) => out.extend(values_in(inner)),
            Arg::WithStatement(doc, inner) | Arg::WithItem(doc, inner) => {
                out.push(*doc);
                out.extend(values_in(inner));
            }
            Arg::List(items) | Arg::Format(_, items) => {
                for i in *items {
                    out.extend(values_in(&[("", *i)]));
                }
            }
            Arg::Param(_)
            | Arg::IfGiven(_)
            | Arg::Text(_)
            | Arg::Bool(_)
            | Arg::Int(_)
            | Arg::ListOf(_)
            | Arg::Item
            | Arg::Tags(_)
            | Arg::Paired
            | Arg::ArnPart(..) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
