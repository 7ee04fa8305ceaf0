"""The automatic path of the main job (run by scripts/drill, and by the test suite,
tests/it/drill.rs, so that the README's first command keeps working): starts the moto server,
makes the evidence bucket and finding queue with `firebreak setup`, plants a target, contains a
finding by hand (`firebreak run`) and one sent twice through EventBridge and SQS (`firebreak
serve --drain`), and reads AWS, the evidence, the tickets and GuardDuty back. Run from the
repository's root with target/debug/firebreak built (or the binary FIREBREAK_BIN names):

    .venv-moto/bin/python scripts/drill_automatic.py
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
endpoint = f"http://127.0.0.1:{port}"
log = open(os.path.join(tempfile.gettempdir(), f"firebreak-drill-moto-{port}.log"), "w")
# AWS's managed policies (AWSDenyAll, which iam.deny_all_user attaches) exist in every AWS account.
server = subprocess.Popen([".venv-moto/bin/moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,
                          env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
ok = False
try:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1); break
        except Exception:
            time.sleep(0.1)
    else:
        sys.exit(f"the moto server did not start; see {log.name}")
    print(f"== emulator up at {endpoint}")
    import boto3
    creds = dict(aws_access_key_id="AKIADRILL00000000000", aws_secret_access_key="drill")
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **creds)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
    events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1", **creds)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", **creds)
    iam.create_user(UserName="drill-alice", Tags=[{"Key": "firebreak:drill", "Value": "true"}])
    leaked = iam.create_access_key(UserName="drill-alice")["AccessKey"]["AccessKeyId"]
    other = iam.create_access_key(UserName="drill-alice")["AccessKey"]["AccessKeyId"]
    print(f"== target planted: user drill-alice with keys {leaked} (leaked) and {other}")
    finding = json.load(open("tests/findings/iam-user-tor.json"))
    finding["id"] = f"drill-{int(time.time())}"
    finding["title"] = "[DRILL] " + finding["title"]
    finding["resource"]["accessKeyDetails"].update(userName="drill-alice", accessKeyId=leaked)
    path = os.path.join(tempfile.mkdtemp(prefix="firebreak-drill-"), "finding.json")
    json.dump(finding, open(path, "w"), indent=2)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
               AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"], AWS_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    # The ticket tracker: the suite's GitHub Issues test server, and a configuration that
    # tickets every incident in its repository drill/incidents.
    gh_token = "drill-github-token"
    gh = subprocess.Popen([sys.executable, "scripts/tracker-emulator", "--token", gh_token], stdout=subprocess.PIPE, text=True)
    gh_url = gh.stdout.readline().strip().removeprefix("listening on ")
    # GuardDuty's findings API and Security Hub: moto serves neither, so the SDK sends those two
    # services (only) to the stand-in, which holds the drill's findings as GuardDuty would.
    gd = subprocess.Popen([sys.executable, "scripts/findings-emulator"], stdout=subprocess.PIPE, text=True)
    gd_url = gd.stdout.readline().strip().removeprefix("listening on ")
    env.update(AWS_ENDPOINT_URL_GUARDDUTY=gd_url, AWS_ENDPOINT_URL_SECURITYHUB=gd_url)
    def hold(f):
        urllib.request.urlopen(urllib.request.Request(f"{gd_url}/_emulator/findings", data=json.dumps({"findings": [f]}).encode(), method="POST"))
    hold(finding)
    print(f"== GuardDuty and Security Hub: the findings stand-in at {gd_url}, holding finding {finding['id']}")
    config = os.path.join(os.path.dirname(path), "firebreak.yaml")
    open(config, "w").write("tickets:\n  github:\n    repo: drill/incidents\n")
    env.update(GITHUB_TOKEN=gh_token, GITHUB_API_URL=gh_url, FIREBREAK_CONFIG=config)
    print(f"== ticket tracker: GitHub Issues test server at {gh_url}, repository drill/incidents ({config})")
    fb = os.environ.get("FIREBREAK_BIN", "target/debug/firebreak")
    def firebreak(*args):
        print(f"\n== firebreak {' '.join(args)}", flush=True)
        rc = subprocess.run([fb, *args], env=env).returncode
        if rc != 0:
            sys.exit(f"firebreak {args[0]} exited {rc}")
    # By hand: the evidence bucket and the finding queue, then one finding run directly.
    firebreak("setup", "--evidence-bucket", "drill-evidence", "--queue", "drill-findings")
    for args in (["validate", "playbooks/"], ["explain", path], ["run", "--evidence", "s3://drill-evidence/incidents", path]):
        firebreak(*args)
    # Automatically: a second leaked key, its finding sent as GuardDuty sends it (an EventBridge
    # event the rule delivers to the queue), contained by `serve`.
    iam.create_user(UserName="drill-bob", Tags=[{"Key": "firebreak:drill", "Value": "true"}])
    bob_key = iam.create_access_key(UserName="drill-bob")["AccessKey"]["AccessKeyId"]
    bob = json.loads(json.dumps(finding))
    bob["id"] = f"drill-bob-{int(time.time())}"
    bob["resource"]["accessKeyDetails"].update(userName="drill-bob", accessKeyId=bob_key)
    hold(bob)
    for count in (1, 2):  # GuardDuty re-sends a finding as the activity goes on
        bob["service"]["count"] = count
        events.put_events(Entries=[{"Source": "aws.guardduty", "DetailType": "GuardDuty Finding", "Detail": json.dumps(bob)}])
    print(f"\n== finding {bob['id']} (user drill-bob, key {bob_key}) sent twice as a GuardDuty event")
    queue = sqs.get_queue_url(QueueName="drill-findings")["QueueUrl"]
    firebreak("serve", "--queue", queue, "--evidence", "s3://drill-evidence/incidents", "--drain", "--wait-seconds", "1")
    firebreak("audit", "s3://drill-evidence/incidents")
    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="drill-alice")["AccessKeyMetadata"]}
    checks = [
        (f"leaked key {leaked} is Inactive", keys.get(leaked) == "Inactive"),
        (f"other key {other} is still Active", keys.get(other) == "Active"),
        ("user drill-alice has AWSDenyAll attached", "arn:aws:iam::aws:policy/AWSDenyAll" in
            [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="drill-alice")["AttachedPolicies"]]),
    ]
    bob_keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="drill-bob")["AccessKeyMetadata"]}
    checks.append((f"drill-bob's key {bob_key}, delivered through EventBridge and SQS, is Inactive", bob_keys.get(bob_key) == "Inactive"))
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    checks.append(("the finding queue is empty", all(v == "0" for v in attrs.values())))
    objs = s3.list_objects_v2(Bucket="drill-evidence", Prefix="incidents/").get("Contents", [])
    bob_manifests = [o["Key"] for o in objs if f"/{bob['id']}/" in o["Key"] and o["Key"].endswith("-manifest.json") and "/_claims/" not in o["Key"]]
    checks.append(("the finding sent twice was contained once (one manifest)", len(bob_manifests) == 1))
    locked = [s3.head_object(Bucket="drill-evidence", Key=o["Key"]).get("ObjectLockMode") for o in objs]
    checks.append((f"{len(objs)} evidence records, every one locked in COMPLIANCE mode", bool(objs) and all(m == "COMPLIANCE" for m in locked)))
    checks.append(("firebreak audit passed (exit 0 above)", True))
    issues = json.load(urllib.request.urlopen(f"{gh_url}/_emulator/issues")).get("drill/incidents", [])
    gh.terminate()
    held = json.load(urllib.request.urlopen(f"{gd_url}/_emulator/findings"))
    refused = [r for r in json.load(urllib.request.urlopen(f"{gd_url}/_emulator/requests")) if r["problems"]]
    gd.terminate()
    def ticket(fid):
        return [i for i in issues if fid in (i["body"] or "")]
    for who, fid in (("drill-alice", finding["id"]), ("drill-bob", bob["id"])):
        t = ticket(fid)
        if len(t) == 1:
            print(f"\n== ticket #{t[0]['number']} ({who}): {t[0]['title']}; {t[0]['state']}, {len(t[0]['comments'])} comment(s)")
            for c in t[0]["comments"]:
                print("   > " + c["body"].splitlines()[0])
        checks.append((f"{who}'s incident: one ticket, labelled firebreak, opened and closed on containment",
                       len(t) == 1 and t[0]["state"] == "closed" and "firebreak" in t[0]["labels"]))
    for who, fid in (("drill-alice", finding["id"]), ("drill-bob", bob["id"])):
        gd_now = next((f for f in held["guardduty"] if f["id"] == fid), {}).get("service", {})
        sh_now = next((v for k, v in held["securityhub"].items() if k.endswith("/finding/" + fid)), {})
        print(f"== finding {fid} now: GuardDuty archived={gd_now.get('archived')} feedback={gd_now.get('userFeedback')}, Security Hub {sh_now.get('workflow')}")
        checks.append((f"{who}'s finding marked resolved: archived in GuardDuty with feedback, RESOLVED in Security Hub",
                       gd_now.get("archived") is True and gd_now.get("userFeedback") == "USEFUL" and sh_now.get("workflow") == "RESOLVED"))
    checks.append(("every GuardDuty and Security Hub request conformed to AWS's service models", not refused))
    bob_ticket = ticket(bob["id"])
    # The two deliveries are read at once, in either order: the ticket opened from count 1 is
    # told the finding came again with count 2; one opened from count 2 already says it (the
    # count-1 delivery is older news, recorded as a duplicate).
    checks.append(("the finding sent twice has one ticket, with its latest count",
                   len(bob_ticket) == 1 and (any("came again" in c["body"] for c in bob_ticket[0]["comments"])
                                             or "| Count | 2 |" in (bob_ticket[0]["body"] or ""))))
    print("\n== drill checks (read back from AWS)")
    for text, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")
    ok = all(p for _, p in checks)
    print("\ndrill " + ("passed" if ok else "FAILED"))
finally:
    for child in (globals().get("gh"), globals().get("gd")):
        if child:
            child.terminate()
    server.terminate()
    server.wait()
sys.exit(0 if ok else 1)
