//! EBS snapshots and AMIs (stored artifacts GuardDuty Malware Protection found malware in) in
//! the step vocabulary: record them, take away every share, tag them. Nothing is deleted: the
//! artifact is the evidence.

use super::{Arg, Ask, Cmp, Cond, Def, Lit, Op, Pick, Where};

const SNAPSHOT: &[(&str, Arg)] = &[("SnapshotIds", Arg::ListOf("snapshot_id"))];
const IMAGE: &[(&str, Arg)] = &[("ImageIds", Arg::ListOf("image_id"))];

/// Who may create volumes from the snapshot: the groups (`all` is public) and the accounts.
const SNAPSHOT_SHARES: Ask = Ask::to(
    Op::Ec2DescribeSnapshotAttribute,
    &[
        ("SnapshotId", Arg::Param("snapshot_id")),
        ("Attribute", Arg::Text("createVolumePermission")),
    ],
)
.keeping(&[
    Pick::each("groups", "CreateVolumePermissions[*].Group"),
    Pick::each("accounts", "CreateVolumePermissions[*].UserId"),
]);

const SHARED_BEFORE: [Cond; 2] = [Cond::Empty("before.groups"), Cond::Empty("before.accounts")];
const SHARED_AFTER: [Cond; 2] = [Cond::Empty("after.groups"), Cond::Empty("after.accounts")];

/// `ec2.make_snapshot_private`: no group (public: `all`) and no other account may create a
/// volume from the snapshot; who could is the step's output.
pub const MAKE_SNAPSHOT_PRIVATE: Def = Def {
    before: &[SNAPSHOT_SHARES],
    refuse: &[],
    done_when: Cond::All(&SHARED_BEFORE),
    plan: "remove every share of snapshot {snapshot_id} (public and with other accounts)",
    change: &[Ask::to(
        Op::Ec2ModifySnapshotAttribute,
        &[
            ("SnapshotId", Arg::Param("snapshot_id")),
            ("Attribute", Arg::Text("createVolumePermission")),
            ("OperationType", Arg::Text("remove")),
            ("GroupNames", Arg::Value("before.groups")),
            ("UserIds", Arg::Value("before.accounts")),
        ],
    )],
    after: &[SNAPSHOT_SHARES],
    verified_when: Some(Cond::All(&SHARED_AFTER)),
    unverified: "snapshot {snapshot_id} still reads back shared",
    outputs: &[
        ("shared_groups", "before.groups"),
        ("shared_accounts", "before.accounts"),
    ],
};

/// Who may launch the image: groups (`all` is public), accounts, organizations and
/// organizational units, each share as EC2 gives it.
const IMAGE_SHARES: Ask = Ask::to(
    Op::Ec2DescribeImageAttribute,
    &[
        ("ImageId", Arg::Param("image_id")),
        ("Attribute", Arg::Text("launchPermission")),
    ],
)
.keeping(&[
    Pick::each("shares", "LaunchPermissions"),
    Pick::each("groups", "LaunchPermissions[*].Group"),
    Pick::each("accounts", "LaunchPermissions[*].UserId"),
]);

/// `ec2.make_image_private`: no group, account, organization or unit may launch the image.
pub const MAKE_IMAGE_PRIVATE: Def = Def {
    // The image is read first: EC2 answers `InvalidAMIID.NotFound` for a missing one, where
    // not every implementation of `DescribeImageAttribute` does.
    before: &[IMAGE_EXISTS, IMAGE_SHARES],
    refuse: &[],
    done_when: Cond::Empty("before.shares"),
    plan: "remove every launch permission of image {image_id} (public, accounts, organizations)",
    change: &[Ask::to(
        Op::Ec2ModifyImageAttribute,
        &[
            ("ImageId", Arg::Param("image_id")),
            (
                "LaunchPermission",
                Arg::Obj(&[("Remove", Arg::Value("before.shares"))]),
            ),
        ],
    )],
    after: &[IMAGE_SHARES],
    verified_when: Some(Cond::Empty("after.shares")),
    unverified: "image {image_id} still reads back with launch permissions",
    outputs: &[
        ("shared_groups", "before.groups"),
        ("shared_accounts", "before.accounts"),
    ],
};

/// Every tag of a `DescribeTags` answer, as `{Key, Value}` (without the resource's id and type).
const KEY_VALUE: Where = Where {
    list: "Tags",
    key: "Key",
    is: Arg::Text(""),
    cmp: Cmp::All,
    except: &[],
    take: &["Key", "Value"],
    first: false,
};

/// The snapshot's tags, as `[{Key, Value}]`.
const SNAPSHOT_TAGS: Ask = Ask::to(
    Op::Ec2DescribeTags,
    &[(
        "Filters",
        Arg::List(&[Arg::Obj(&[
            ("Name", Arg::Text("resource-id")),
            ("Values", Arg::ListOf("snapshot_id")),
        ])]),
    )],
)
.keeping(&[Pick::selected("tags", &KEY_VALUE, Lit::Null)]);

/// The image's tags, as `[{Key, Value}]`.
const IMAGE_TAGS: Ask = Ask::to(
    Op::Ec2DescribeTags,
    &[(
        "Filters",
        Arg::List(&[Arg::Obj(&[
            ("Name", Arg::Text("resource-id")),
            ("Values", Arg::ListOf("image_id")),
        ])]),
    )],
)
.keeping(&[Pick::selected("tags", &KEY_VALUE, Lit::Null)]);

// The artifact is read first, so that a missing one fails the step (EC2 answers
// `InvalidSnapshot.NotFound`, `InvalidAMIID.NotFound`): tags on a missing id are refused by
// AWS, not by every emulator.
const SNAPSHOT_EXISTS: Ask = Ask::to(Op::Ec2DescribeSnapshots, SNAPSHOT)
    .keeping(&[Pick::first("owner", "Snapshots[*].OwnerId")]);
const IMAGE_EXISTS: Ask =
    Ask::to(Op::Ec2DescribeImages, IMAGE).keeping(&[Pick::first("owner", "Images[*].OwnerId")]);

/// `ec2.tag_snapshot`: every tag given on the snapshot (others untouched).
pub const TAG_SNAPSHOT: Def = Def {
    before: &[SNAPSHOT_EXISTS, SNAPSHOT_TAGS],
    refuse: &[],
    done_when: Cond::Includes("before.tags", "tags"),
    plan: "tag snapshot {snapshot_id} with the given tags",
    change: &[Ask::to(
        Op::Ec2CreateTags,
        &[
            ("Resources", Arg::ListOf("snapshot_id")),
            ("Tags", Arg::Tags("tags")),
        ],
    )],
    after: &[SNAPSHOT_TAGS],
    verified_when: Some(Cond::Includes("after.tags", "tags")),
    unverified: "snapshot {snapshot_id} does not read back with every tag",
    outputs: &[],
};

/// `ec2.tag_image`: every tag given on the image (others untouched).
pub const TAG_IMAGE: Def = Def {
    before: &[IMAGE_EXISTS, IMAGE_TAGS],
    refuse: &[],
    done_when: Cond::Includes("before.tags", "tags"),
    plan: "tag image {image_id} with the given tags",
    change: &[Ask::to(
        Op::Ec2CreateTags,
        &[
            ("Resources", Arg::ListOf("image_id")),
            ("Tags", Arg::Tags("tags")),
        ],
    )],
    after: &[IMAGE_TAGS],
    verified_when: Some(Cond::Includes("after.tags", "tags")),
    unverified: "image {image_id} does not read back with every tag",
    outputs: &[],
};

/// `ec2.capture_snapshot`: the snapshot as EC2 describes it and who may create volumes from
/// it.
pub const CAPTURE_SNAPSHOT: Def = Def::capture(
    &[
        Ask::to(Op::Ec2DescribeSnapshots, SNAPSHOT).keeping(&[
            Pick::first("volume_id", "Snapshots[*].VolumeId"),
            Pick::first("owner", "Snapshots[*].OwnerId"),
            Pick::each("snapshot", "Snapshots[*]"),
        ]),
        SNAPSHOT_SHARES,
    ],
    &[
        ("volume_id", "before.volume_id"),
        ("owner_id", "before.owner"),
        ("shared_groups", "before.groups"),
        ("shared_accounts", "before.accounts"),
    ],
);

/// `ec2.capture_image`: the image as EC2 describes it (its snapshots among its block devices,
/// in the evidence) and who may launch it.
pub const CAPTURE_IMAGE: Def = Def::capture(
    &[
        Ask::to(Op::Ec2DescribeImages, IMAGE).keeping(&[
            Pick::first("owner", "Images[*].OwnerId"),
            Pick::each("image", "Images[*]"),
        ]),
        IMAGE_SHARES,
    ],
    &[
        ("owner_id", "before.owner"),
        ("shared_groups", "before.groups"),
        ("shared_accounts", "before.accounts"),
    ],
);
