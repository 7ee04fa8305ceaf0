"""Time-to-contain of every shipped playbook against one moto server, whole process, firebreak
beside Cloud Custodian where Custodian has an equivalent policy. Called by scripts/bench-ttc
(which installs moto, c7n and builds the release binary); prints a Markdown section.

    python scripts/bench_ttc.py RUNS

Each run gets fresh resources (made with boto3, not timed); after each run the script reads
AWS back and fails unless the containment happened. One warm-up run of each tool per playbook
is not counted. The EC2 run's JSON report is kept in target/bench/ec2-report.json: the
engine-overhead benchmark replays its calls.
"""

import atexit
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
FIREBREAK = "target/release/firebreak"
CUSTODIAN = ".venv-bench/bin/custodian"

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
PORT = sock.getsockname()[1]
sock.close()
ENDPOINT = f"http://127.0.0.1:{PORT}"
CREDS = dict(aws_access_key_id="AKIABENCH0000000000", aws_secret_access_key="bench")
ENV = dict(
    os.environ,
    AWS_ENDPOINT_URL=ENDPOINT,
    AWS_ACCESS_KEY_ID=CREDS["aws_access_key_id"],
    AWS_SECRET_ACCESS_KEY=CREDS["aws_secret_access_key"],
    AWS_REGION="us-east-1",
    AWS_DEFAULT_REGION="us-east-1",
)
ENV.pop("AWS_PROFILE", None)
WORK = tempfile.mkdtemp(prefix="firebreak-bench-ttc-")
SERVER = subprocess.Popen([".venv-moto/bin/moto_server", "-H", "127.0.0.1", "-p", str(PORT)],
                          env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
atexit.register(lambda: (SERVER.terminate(), SERVER.wait()))
for _ in range(100):
    try:
        urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json", timeout=1)
        break
    except Exception:
        time.sleep(0.1)


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name="us-east-1", **CREDS)


def fixture(name):
    with open(os.path.join("tests/findings", name)) as f:
        return json.load(f)


def write(name, value):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        if isinstance(value, str):
            f.write(value)
        else:
            json.dump(value, f)
    return path


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ms = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} {' '.join(cmd[1:3])} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return ms, p.stdout


def firebreak(finding, *extra):
    ms, out = timed([FIREBREAK, "run", "--output", "json", *extra, write(f"{finding['id']}.json", finding)])
    report = json.loads(out)
    return ms, report


def custodian(name, policy):
    path = write(f"{name}.yml", policy)
    ms, _ = timed([CUSTODIAN, "run", "--cache-period", "0", "-s", os.path.join(WORK, f"out-{name}"),
                   "--region", "us-east-1", path])
    return ms


iam, s3, ec2 = client("iam"), client("s3"), client("ec2")
asg, elb, sns = client("autoscaling"), client("elbv2"), client("sns")
counter = [0]


def unique(prefix):
    counter[0] += 1
    return f"{prefix}-{counter[0]}"


# --- the resources of each playbook, made fresh per run ------------------------------------

def user_with_keys():
    name = unique("user")
    iam.create_user(UserName=name)
    leaked = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    other = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    return name, leaked, other


def key_status(user, key):
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}[key]


def public_bucket():
    name = unique("exports")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*"}]}))
    return name


def blocked(bucket):
    c = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    return all(c.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))


def drop_bucket(bucket):
    # Keeps the number of buckets constant: Custodian's S3 cost grows with it.
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


VPC = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
SUBNET = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [VPC]}])["Subnets"][0]["SubnetId"]
ISOLATION = ec2.create_security_group(GroupName="custodian-isolation", Description="no rules", VpcId=VPC)["GroupId"]
ec2.revoke_security_group_egress(GroupId=ISOLATION, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
ec2.create_launch_template(LaunchTemplateName="bench-lt", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})

# One target group for every run, so that each run finds the same number of them (firebreak
# reads the health of every target group in the account to find the instance's).
TARGET_GROUP = elb.create_target_group(Name="bench-tg", Protocol="HTTP", Port=80, VpcId=VPC,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]


def instance():
    """Two volumes, an instance profile, in an Auto Scaling group and a target group."""
    role, profile = unique("web-role"), unique("web-profile")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    vol = lambda dev, size: {"DeviceName": dev, "Ebs": {"VolumeSize": size, "DeleteOnTermination": True}}
    iid = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=SUBNET,
                            BlockDeviceMappings=[vol("/dev/sda1", 8), vol("/dev/sdb", 4)],
                            IamInstanceProfile={"Name": profile})["Instances"][0]["InstanceId"]
    group = unique("web-asg")
    asg.create_auto_scaling_group(AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": "bench-lt"},
                                  MinSize=0, MaxSize=3, DesiredCapacity=0, VPCZoneIdentifier=SUBNET)
    asg.attach_instances(AutoScalingGroupName=group, InstanceIds=[iid])
    elb.register_targets(TargetGroupArn=TARGET_GROUP, Targets=[{"Id": iid, "Port": 80}])
    return iid


def isolated_to(iid):
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
    return {tuple(sorted(g["GroupId"] for g in e["Groups"])) for e in enis}


def group_id(name):
    gs = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [VPC]}, {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    return gs[0]["GroupId"]


def snapshots_of(iid):
    vols = [v["VolumeId"] for v in ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]]
    return ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": vols}])["Snapshots"]


TOPIC = sns.create_topic(Name="firebreak-bench-alerts")["TopicArn"]


# --- one run of each tool per playbook: (ms, firebreak report or None) -----------------------

def fb_credential(_):
    user, leaked, other = user_with_keys()
    f = fixture("iam-user-tor.json")
    f["id"] = unique("bench-iam")
    f["resource"]["accessKeyDetails"].update(userName=user, accessKeyId=leaked)
    ms, report = firebreak(f)
    assert key_status(user, leaked) == "Inactive" and key_status(user, other) == "Active", "firebreak did not contain"
    return ms, report


def c7n_credential(_):
    user, leaked, other = user_with_keys()
    ms = custodian(unique("c7n-iam"), f"""policies:
  - name: deactivate-leaked-key
    resource: iam-user
    filters:
      - {{type: value, key: UserName, value: {user}}}
      - {{type: access-key, key: AccessKeyId, value: {leaked}}}
    actions:
      - {{type: remove-keys, disable: true, matched: true}}
""")
    assert key_status(user, leaked) == "Inactive" and key_status(user, other) == "Active", "custodian did not contain"
    return ms


def fb_public(_):
    bucket = public_bucket()
    f = fixture("s3-public-policy.json")
    f["id"] = unique("bench-s3")
    f["resource"]["s3BucketDetails"][0]["name"] = bucket
    ms, report = firebreak(f)
    assert blocked(bucket), "firebreak did not block public access"
    drop_bucket(bucket)
    return ms, report


def c7n_public(_):
    bucket = public_bucket()
    ms = custodian(unique("c7n-s3"), f"""policies:
  - name: block-public-access
    resource: s3
    filters:
      - {{type: value, key: Name, value: {bucket}}}
    actions:
      - {{type: set-public-block}}
""")
    assert blocked(bucket), "custodian did not block public access"
    drop_bucket(bucket)
    return ms


def fb_data_access(_):
    bucket = public_bucket()
    user, leaked, other = user_with_keys()
    f = fixture("s3-exfil-anomalous.json")
    f["id"] = unique("bench-s3-data")
    f["resource"]["s3BucketDetails"][0]["name"] = bucket
    f["resource"]["accessKeyDetails"].update(userName=user, accessKeyId=leaked)
    ms, report = firebreak(f)
    assert key_status(user, leaked) == "Inactive", "firebreak did not deactivate the key"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(s["Effect"] == "Deny" for s in policy["Statement"]), "firebreak did not deny the user on the bucket"
    drop_bucket(bucket)
    return ms, report


def fb_ec2(i):
    iid = instance()
    f = fixture("ec2-bitcoin-dns.json")
    f["id"] = unique("bench-ec2")
    f["resource"]["instanceDetails"]["instanceId"] = iid
    ms, report = firebreak(f)
    assert isolated_to(iid) == {(group_id("firebreak-isolation"),)}, "firebreak did not isolate"
    assert len(snapshots_of(iid)) == 2, "firebreak did not snapshot both volumes"
    os.makedirs("target/bench", exist_ok=True)
    with open("target/bench/ec2-report.json", "w") as out:
        json.dump(report, out, indent=1)
    return ms, report


def c7n_ec2(_):
    iid = instance()
    ms = custodian(unique("c7n-ec2"), f"""policies:
  - name: isolate-instance
    resource: ec2
    filters:
      - {{InstanceId: {iid}}}
    actions:
      - {{type: snapshot}}
      - {{type: set-instance-profile}}
      - {{type: modify-security-groups, add: {ISOLATION}, remove: all, isolation-group: {ISOLATION}}}
      - {{type: tag, key: firebreak-bench, value: isolated}}
""")
    assert isolated_to(iid) == {(ISOLATION,)}, "custodian did not isolate"
    assert len(snapshots_of(iid)) == 2, "custodian did not snapshot both volumes"
    return ms


def fb_malware(_):
    f = fixture("ec2-malware-recovery-point.json")
    f["id"] = unique("bench-malware")
    return firebreak(f, "--input", f"sns_topic_arn={TOPIC}")


PLAYBOOKS = [
    ("iam-credential-compromise", "leaked user key: capture, deactivate that key, deny-all, verify",
     fb_credential, c7n_credential, "`iam-user` `remove-keys` (disable, matched key only)"),
    ("s3-public-exposure", "public bucket: capture, all four Block Public Access flags, verify",
     fb_public, c7n_public, "`s3` `set-public-block` (all four flags)"),
    ("s3-data-access", "data read with a user key: capture bucket and user, versioning, deny the user on the bucket, deactivate the key, deny-all",
     fb_data_access, None, "none (no action denies one principal in a bucket policy)"),
    ("ec2-instance-compromise", "instance: capture, termination protection, snapshot 2 volumes, leave ASG and target group, remove profile, revoke role sessions, isolate, tag",
     fb_ec2, c7n_ec2, "`ec2` `snapshot`, `set-instance-profile`, `modify-security-groups` (to a prepared isolation group), `tag`; it has no ASG/ELB detach, pre-state capture or read-back"),
    ("malware-artifact", "malware in a recovery point: nothing to contain; the alert is published to SNS",
     fb_malware, None, "none (alerts need c7n-mailer)"),
]


def main():
    rows = []
    for name, what, fb, c7n, c7n_what in PLAYBOOKS:
        fb_ms, fb_ttc, c7n_ms = [], [], []
        for i in range(RUNS + 1):
            ms, report = fb(i)
            if i:
                fb_ms.append(ms)
                if report.get("time_to_contain_ms") is not None:
                    fb_ttc.append(report["time_to_contain_ms"])
            if c7n:
                ms = c7n(i)
                if i:
                    c7n_ms.append(ms)
        rows.append((name, what, fb_ms, fb_ttc, c7n_ms, c7n_what))

    def cell(xs):
        return f"{statistics.median(xs):.0f} ms ({min(xs):.0f}–{max(xs):.0f})" if xs else "—"

    print(f"Runs: {RUNS} of each tool per playbook (after one warm-up each), alternating, same moto "
          "server, fresh resources per run; every run's containment read back.\n")
    print("| playbook | firebreak, whole process: median (min–max) | inside firebreak: finding accepted → contained, median | Custodian, whole process | ratio Custodian / firebreak |")
    print("| --- | --- | --- | --- | --- |")
    for name, what, fb_ms, fb_ttc, c7n_ms, _ in rows:
        ratio = f"{statistics.median(c7n_ms) / statistics.median(fb_ms):.1f}×" if c7n_ms else "—"
        inside = f"{statistics.median(fb_ttc):.0f} ms" if fb_ttc else "— (nothing to contain)"
        print(f"| `{name}` | {cell(fb_ms)} | {inside} | {cell(c7n_ms)} | {ratio} |")
    print("\nWhat each run does:\n")
    for name, what, _, _, _, c7n_what in rows:
        print(f"- `{name}`: firebreak — {what}. Custodian — {c7n_what}.")


main()
