#!/usr/bin/env python3
"""The project's own checks of template.yaml, where cfn-lint and `sam validate --lint` are blind.

Usage: .venv/bin/python scripts/check_template.py [template.yaml]

  (a) functions: every AWS::Serverless::Function (after Globals) runs provided.al2023 on
      arm64 with Handler bootstrap, is built by rust-cargolambda, and its
      BuildProperties.Binary is a binary of a crate under functions/; every function crate of
      the workspace is deployed by exactly one function resource.
  (b) schedules: every schedule expression is rate(1 minute|hour|day), rate(N minutes|hours|days)
      with N > 1, or a six-field cron(...) with `?` in day-of-month or day-of-week.
  (c) IAM: for every function, the AWS operations its Rust code can perform (a static scan of
      the crate's src/ and of the shared modules it reaches) against what its Policies grant.
      A missing grant and an extra grant are both errors.
  (d) operations: every function has its log group (/aws/lambda/<function>, retention from
      LogRetentionDays) and its Errors and Throttles alarms, under the function's Condition.

Not repeated here: Ref/GetAtt/Sub naming an unknown parameter or resource (cfn-lint E1012,
E1010, E1019) and unused parameters (cfn-lint W2001), both failures of the cfn-lint step.

Every failure is printed on a line of its own; the exit status is 1 if there was any.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parent.parent
SHARED_CRATE = "dialtone_shared"
SHARED_SRC = ROOT / "shared" / "src"

# (c) Exceptions: grants the static scan cannot derive, or derives but the function must not
# get, as {(function logical id, IAM action, resource label): why}. Each one is a deliberate
# decision; an exception that no longer matches anything is reported, so the list stays true.
# It is empty: every function's grants equal what its code can reach.
IAM_EXCEPTIONS: dict[tuple[str, str, str], str] = {}

# SDK calls (`.name()` with no arguments: the fluent builders of aws-sdk-*) and the IAM
# action each needs. TransactWriteItems has no action of its own: IAM checks the
# item-level action of each item, found from the builders below.
SDK_CALLS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_get_items": "dynamodb:GetItem",
    "transact_write_items": None,
    "publish": "sns:Publish",
    "publish_batch": "sns:Publish",
    "send_message": "sqs:SendMessage",
    "send_message_batch": "sqs:SendMessage",
    "get_secret_value": "secretsmanager:GetSecretValue",
}
# Items of a TransactWriteItems request, by the builder that makes them.
TRANSACT_BUILDERS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# SAM policy templates in use, and what each grants.
POLICY_TEMPLATES = {
    "SNSPublishMessagePolicy": ("sns:Publish", "TopicName"),
    "SQSSendMessagePolicy": ("sqs:SendMessage", "QueueName"),
}
# What SAM grants by itself (not listed in Policies): a DeadLetterQueue of Type SQS and an
# event source's OnFailure destination of Type SQS get sqs:SendMessage on the queue; a
# DynamoDB event source gets the stream read actions (AWSLambdaDynamoDBExecutionRole).
# A Policies entry repeating one of these is reported as extra.

errors: list[str] = []


def fail(msg: str) -> None:
    errors.append(msg)
    print(f"FAIL {msg}")


# ------------------------------------------------------------------ template helpers


def plain(node):
    """cfn-lint's decoded nodes as plain dicts and lists."""
    return json.loads(json.dumps(node))


def functions_of(template: dict) -> dict[str, dict]:
    glob = template.get("Globals", {}).get("Function", {})
    out = {}
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = dict(glob)
        props.update(res.get("Properties", {}))
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        env.update(res.get("Properties", {}).get("Environment", {}).get("Variables", {}))
        props["Environment"] = {"Variables": env}
        out[name] = {"Properties": props, "Metadata": res.get("Metadata", {}),
                     "Condition": res.get("Condition")}
    return out


def unwrap_if(value):
    """`!If [c, a, b]` -> the branches that are not AWS::NoValue; anything else -> [value]."""
    if isinstance(value, dict) and "Fn::If" in value:
        out = []
        for branch in value["Fn::If"][1:]:
            if branch == {"Ref": "AWS::NoValue"}:
                continue
            out.extend(unwrap_if(branch))
        return out
    return [value]


# ------------------------------------------------------------------ (a) functions


def crate_binaries() -> dict[str, str]:
    """binary name -> crate directory, for every crate under functions/ in the workspace."""
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    members = workspace.get("workspace", {}).get("members", [])
    out = {}
    for member in members:
        if not member.startswith("functions/"):
            continue
        manifest = tomllib.loads((ROOT / member / "Cargo.toml").read_text())
        bins = [b["name"] for b in manifest.get("bin", [])]
        if not bins and (ROOT / member / "src" / "main.rs").exists():
            bins = [manifest["package"]["name"]]
        if not bins:
            fail(f"{member}: a function crate with no binary ([[bin]] or src/main.rs)")
        for b in bins:
            out[b] = member
    return out


def check_functions(funcs: dict[str, dict]) -> dict[str, str]:
    binaries = crate_binaries()
    deployed: dict[str, list[str]] = {}
    crate_of = {}
    for name, f in funcs.items():
        p, m = f["Properties"], f["Metadata"]
        if p.get("Runtime") != "provided.al2023":
            fail(f"{name}: Runtime is {p.get('Runtime')!r}, not provided.al2023")
        if p.get("Architectures") != ["arm64"]:
            fail(f"{name}: Architectures is {p.get('Architectures')!r}, not [arm64]")
        if p.get("Handler") != "bootstrap":
            fail(f"{name}: Handler is {p.get('Handler')!r}, not bootstrap")
        if m.get("BuildMethod") != "rust-cargolambda":
            fail(f"{name}: Metadata.BuildMethod is {m.get('BuildMethod')!r}, not rust-cargolambda")
        binary = m.get("BuildProperties", {}).get("Binary")
        if binary not in binaries:
            fail(f"{name}: BuildProperties.Binary {binary!r} is no binary of a crate under functions/ "
                 f"(there are: {', '.join(sorted(binaries))})")
            continue
        deployed.setdefault(binaries[binary], []).append(name)
        crate_of[name] = binaries[binary]
    for crate in sorted(set(binaries.values())):
        users = deployed.get(crate, [])
        if len(users) != 1:
            fail(f"{crate}: deployed by {len(users)} function resources ({', '.join(users) or 'none'}), not exactly one")
    return crate_of


# ------------------------------------------------------------------ (b) schedules

RATE = re.compile(r"^rate\((?:1 (?:minute|hour|day)|[1-9][0-9]* (?:minutes|hours|days))\)$")
CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#L W-]+$")


def schedule_problem(expr) -> str | None:
    if not isinstance(expr, str):
        return "is not a plain string"
    if expr.startswith("rate("):
        if not RATE.match(expr) or re.match(r"^rate\(1 \w+s\)$", expr):
            return "is not rate(1 minute|hour|day) or rate(N minutes|hours|days) with N > 1"
        return None
    m = re.match(r"^cron\((.*)\)$", expr)
    if m:
        fields = m.group(1).split(" ")
        if len(fields) != 6 or not all(CRON_FIELD.match(f) for f in fields):
            return "is not cron() with six fields (minutes hours day-of-month month day-of-week year)"
        if "?" not in (fields[2], fields[4]):
            return "needs ? in day-of-month or day-of-week"
        return None
    return "is neither rate(...) nor cron(...)"


def check_schedules(template: dict) -> None:
    for name, res in template.get("Resources", {}).items():
        exprs = []
        if res.get("Type") == "AWS::Serverless::Function":
            for ev_name, ev in res.get("Properties", {}).get("Events", {}).items():
                if ev.get("Type") == "Schedule":
                    exprs.append((f"{name}.Events.{ev_name}", ev.get("Properties", {}).get("Schedule")))
                elif ev.get("Type") == "ScheduleV2":
                    exprs.append((f"{name}.Events.{ev_name}",
                                  ev.get("Properties", {}).get("ScheduleExpression")))
        elif res.get("Type") in ("AWS::Events::Rule", "AWS::Scheduler::Schedule"):
            expr = res.get("Properties", {}).get("ScheduleExpression")
            if expr is not None:
                exprs.append((name, expr))
        for where, expr in exprs:
            problem = schedule_problem(expr)
            if problem:
                fail(f"{where}: schedule {expr!r} {problem}")


# ------------------------------------------------------------------ (c) IAM: the Rust side


def strip_rust(text: str) -> str:
    """Code without comments, string contents and #[cfg(test)] items."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (m := re.match(r'b?r(#*)"', text[i:i + 8])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            out.append('""')
            i = n if j < 0 else j + len(end)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and (m := re.match(r"'(?:\\.|[^\\'\n])'", text[i:i + 4])):
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # #[cfg(test)] mod x { ... } and #[cfg(test)] mod x; (its file is a test file)
    while (m := re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*", code)):
        end = m.end()
        if end < len(code) and code[end] == "{":
            end = matching_brace(code, end) + 1
        elif end < len(code) and code[end] == ";":
            end += 1
        code = code[:m.start()] + code[end:]
    return code


def matching_brace(code: str, at: int) -> int:
    depth = 0
    for k in range(at, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [re.sub(r"\bas\w+$", "", tree)] if tree else []
    k = tree.index("{")
    prefix, inner = tree[:k], tree[k + 1:tree.rindex("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        for e in expand_use(p):
            out.append(prefix + e if e != "self" else prefix.rstrip(":"))
    return out


def module_file(segments: list[str]) -> Path | None:
    base = SHARED_SRC.joinpath(*segments) if segments else SHARED_SRC / "lib"
    for cand in (base.with_suffix(".rs"), base / "mod.rs"):
        if cand.exists():
            return cand
    return None


def module_path_of(path: Path) -> list[str]:
    rel = path.relative_to(SHARED_SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def referenced_modules(code: str, here: list[str] | None) -> set[Path]:
    """Shared-crate files that `code` names: through `use` trees and inline paths.
    `here` is the module path of `code` inside the shared crate (None: a function crate)."""
    paths: list[list[str]] = []
    trees = [m.group(1) for m in re.finditer(r"\buse\s+([^;]+);", code)]
    inline = re.findall(r"\b((?:dialtone_shared|crate|super|self)(?:::\w+)+)", code)
    children = set(re.findall(r"\bmod\s+(\w+)\s*;", code))
    for raw in [p for t in trees for p in expand_use(t)] + inline:
        segs = [s for s in raw.split("::") if s]
        if not segs:
            continue
        if segs[0] == SHARED_CRATE:
            paths.append(segs[1:])
        elif here is None:
            continue
        elif segs[0] == "crate":
            paths.append(segs[1:])
        elif segs[0] in ("super", "self"):
            base = list(here)
            while segs and segs[0] in ("super", "self"):
                if segs.pop(0) == "super":
                    base = base[:-1]
            paths.append(base + segs)
        elif segs[0] in children:
            paths.append(list(here) + segs)
    out = set()
    for segs in paths:
        # The deepest prefix that is a module file: the rest names items inside it.
        for k in range(len(segs), 0, -1):
            f = module_file(segs[:k])
            if f:
                out.add(f)
                break
    return out


@functools.lru_cache(maxsize=None)
def code_of(path: Path) -> str:
    return strip_rust(path.read_text())


def crate_files(crate_dir: Path) -> list[Path]:
    return [p for p in sorted((crate_dir / "src").rglob("*.rs"))
            if not p.name.endswith("_test.rs") and p.name != "tests.rs"]


TYPE_DEF = re.compile(r"\b(?:struct|enum)\s+(\w+)")
# The type an impl block is for: `impl Trait for Type`, or an inherent `impl Type`.
IMPL_FOR = re.compile(r"\bimpl\b(?:\s*<[^{;]*?>)?\s+(?:[\w:]+(?:<[^{;]*?>)?\s+for\s+)?(\w+)")


def reached_shared(start_code: str) -> set[Path]:
    """Shared files the code names, and the files holding impl blocks of the types those
    define (an adapter's trait impls split over files run wherever its type is used)."""
    todo = list(referenced_modules(start_code, None))
    seen: set[Path] = set()
    all_files = [p for p in sorted(SHARED_SRC.rglob("*.rs")) if not p.name.endswith("_test.rs")]
    while todo:
        while todo:
            f = todo.pop()
            if f in seen or f.name.endswith("_test.rs"):
                continue
            seen.add(f)
            code = code_of(f)
            todo.extend(referenced_modules(code, module_path_of(f)))
        types = {t for f in seen for t in TYPE_DEF.findall(code_of(f))}
        todo = [f for f in all_files
                if f not in seen and set(IMPL_FOR.findall(code_of(f))) & types]
    return seen


FN_DEF = re.compile(r"\bfn\s+(\w+)\s*(?:<[^{;]*?>)?\s*\(")


def fn_bodies(code: str) -> list[tuple[str, str]]:
    out = []
    for m in FN_DEF.finditer(code):
        k = code.find("{", m.end())
        semi = code.find(";", m.end())
        if k < 0 or (0 <= semi < k):
            continue  # a declaration without a body (trait method)
        out.append((m.group(1), code[k:matching_brace(code, k) + 1]))
    return out


def body_ops(body: str) -> set[tuple[str, str]]:
    ops = set()
    for call in re.findall(r"\.\s*(\w+)\s*\(\s*\)", body):
        action = SDK_CALLS.get(call)
        if action is None:
            continue
        if call == "query" and re.search(r"\.\s*index_name\s*\(", body):
            ops.add((action, "index"))
        else:
            ops.add((action, "table" if action.startswith("dynamodb:") else action.split(":")[0]))
    for builder in re.findall(r"\b(\w+)::builder\s*\(\s*\)", body):
        if builder in TRANSACT_BUILDERS:
            ops.add((TRANSACT_BUILDERS[builder], "table"))
    return ops


def code_operations(crate_dir: Path) -> tuple[set[tuple[str, str]], list[Path]]:
    """(IAM action, resource kind) pairs the crate's code can reach: the crate's own code is
    all reached; a shared function is reached when reached code calls its name (a name-level
    call graph over the shared files the crate reaches through its `use` paths)."""
    own = "\n".join(code_of(p) for p in crate_files(crate_dir))
    shared_files = reached_shared(own)
    defs: dict[str, list[str]] = {}
    for f in shared_files:
        for name, body in fn_bodies(code_of(f)):
            defs.setdefault(name, []).append(body)
    ops = body_ops(own)
    todo = set(re.findall(r"\b(\w+)\s*(?:::<[^>]*>)?\s*\(", own))
    done: set[str] = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for body in defs.get(name, []):
            ops |= body_ops(body)
            todo |= set(re.findall(r"\b(\w+)\s*(?:::<[^>]*>)?\s*\(", body))
    return ops, sorted(shared_files)


# ------------------------------------------------------------------ (c) IAM: the template side


def resource_label(res, template: dict) -> str:
    resources = template.get("Resources", {})
    params = template.get("Parameters", {})
    if isinstance(res, dict) and "Fn::GetAtt" in res:
        target, attr = (res["Fn::GetAtt"].split(".", 1) if isinstance(res["Fn::GetAtt"], str)
                        else res["Fn::GetAtt"])
        if resources.get(target, {}).get("Type") == "AWS::DynamoDB::Table" and attr == "Arn":
            return "table"
        return f"{target}.{attr}"
    if isinstance(res, dict) and "Fn::Sub" in res and isinstance(res["Fn::Sub"], str):
        m = re.match(r"^\$\{(\w+)\.Arn\}/index/[\w*.-]+$", res["Fn::Sub"])
        if m and resources.get(m.group(1), {}).get("Type") == "AWS::DynamoDB::Table":
            return "index"
    if isinstance(res, dict) and "Ref" in res and (res["Ref"] in resources or res["Ref"] in params):
        return res["Ref"]
    return json.dumps(res, sort_keys=True)


def granted(name: str, f: dict, template: dict) -> set[tuple[str, str]]:
    out = set()
    policies = f["Properties"].get("Policies", [])
    if isinstance(policies, (str, dict)):
        policies = [policies]
    for pol in policies:
        if isinstance(pol, str):
            fail(f"{name}: managed policy {pol!r}: list the actions the code needs instead")
            continue
        if "Statement" in pol:
            statements = [s for st in pol["Statement"] for s in unwrap_if(st)]
            for st in statements:
                if st.get("Effect") != "Allow":
                    continue
                actions = st.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                resources = st.get("Resource", [])
                resources = [resources] if not isinstance(resources, list) else resources
                for a in actions:
                    if "*" in a:
                        fail(f"{name}: wildcard action {a!r}: list the actions the code needs")
                    for r in resources:
                        label = resource_label(r, template)
                        if label == '"*"':
                            fail(f"{name}: {a} on every resource (*)")
                        out.add((a, label))
            continue
        for tpl, args in pol.items():
            if tpl not in POLICY_TEMPLATES:
                fail(f"{name}: policy template {tpl} is not known to scripts/check_template.py (POLICY_TEMPLATES)")
                continue
            action, key = POLICY_TEMPLATES[tpl]
            ref = args.get(key)
            target = ref["Fn::GetAtt"][0] if isinstance(ref, dict) and "Fn::GetAtt" in ref else json.dumps(ref)
            out.add((action, target))
    return out


def sam_managed(f: dict, template: dict) -> set[tuple[str, str]]:
    """What SAM grants for the function without a Policies entry."""
    out = set()
    dlq = f["Properties"].get("DeadLetterQueue")
    if isinstance(dlq, dict) and dlq.get("Type") == "SQS":
        out.add(("sqs:SendMessage", resource_label(dlq.get("TargetArn"), template).split(".")[0]))
    for ev in f["Properties"].get("Events", {}).values():
        dest = ev.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure", {})
        if dest.get("Type") == "SQS":
            out.add(("sqs:SendMessage", resource_label(dest.get("Destination"), template).split(".")[0]))
    return out


def expected(name: str, f: dict, ops: set[tuple[str, str]], template: dict) -> set[tuple[str, str]]:
    """The code's operations with their resources: DynamoDB on the table or its index; a
    secret, topic or queue is the one an environment variable of the function names."""
    resources = template.get("Resources", {})
    env = f["Properties"]["Environment"]["Variables"]
    named = {"secretsmanager": set(), "sns": set(), "sqs": set()}
    for var, value in env.items():
        for v in unwrap_if(value):
            if not (isinstance(v, dict) and "Ref" in v):
                continue
            target = v["Ref"]
            kind = resources.get(target, {}).get("Type")
            if var.endswith("_SECRET_ID"):
                named["secretsmanager"].add(target)
            elif kind == "AWS::SNS::Topic":
                named["sns"].add(target)
            elif kind == "AWS::SQS::Queue":
                named["sqs"].add(target)
    out = set()
    for action, kind in ops:
        service = action.split(":")[0]
        if service == "dynamodb":
            out.add((action, kind))
            continue
        targets = named.get(service, set())
        if not targets:
            fail(f"{name}: the code calls {action} but no environment variable names its "
                 f"{'secret (*_SECRET_ID)' if service == 'secretsmanager' else service + ' resource'}")
        for t in targets:
            out.add((action, t))
    return out


def check_iam(template: dict, funcs: dict[str, dict], crate_of: dict[str, str], verbose: bool) -> None:
    used_exceptions = set()
    for name, f in sorted(funcs.items()):
        if name not in crate_of:
            continue
        ops, files = code_operations(ROOT / crate_of[name])
        want = expected(name, f, ops, template)
        have = granted(name, f, template)
        managed = sam_managed(f, template)
        if verbose:
            print(f"  {name}: code reaches {', '.join(sorted(a + ' ' + r for a, r in want)) or 'no AWS call'}"
                  f" (shared: {', '.join(str(p.relative_to(SHARED_SRC)) for p in files)})")
        for action, res in sorted(want - have):
            if (name, action, res) in IAM_EXCEPTIONS:
                used_exceptions.add((name, action, res))
                continue
            fail(f"{name}: missing grant {action} on {res} (its code in {crate_of[name]} or the shared modules it uses calls it)")
        for action, res in sorted(have - want):
            if (name, action, res) in IAM_EXCEPTIONS:
                used_exceptions.add((name, action, res))
                continue
            if (action, res) in managed:
                fail(f"{name}: extra grant {action} on {res}: SAM already grants it for the dead-letter queue / OnFailure destination")
            else:
                fail(f"{name}: extra grant {action} on {res} (no code of {crate_of[name]} or of the shared modules it uses calls it)")
    for stale in sorted(set(IAM_EXCEPTIONS) - used_exceptions):
        fail(f"IAM_EXCEPTIONS entry {stale} matches nothing any more: remove it")


# ------------------------------------------------------------------ (d) operations


def check_operations(template: dict, funcs: dict[str, dict]) -> None:
    resources = template.get("Resources", {})
    groups, alarms = {}, {}
    for rname, res in resources.items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Logs::LogGroup":
            m = re.match(r"^/aws/lambda/\$\{(\w+)\}$", str(props.get("LogGroupName", {}).get("Fn::Sub", ""))
                         if isinstance(props.get("LogGroupName"), dict) else "")
            if m:
                groups[m.group(1)] = (rname, res)
        if res.get("Type") == "AWS::CloudWatch::Alarm" and props.get("Namespace") == "AWS/Lambda":
            for d in props.get("Dimensions", []):
                if d.get("Name") == "FunctionName" and isinstance(d.get("Value"), dict):
                    alarms.setdefault((d["Value"].get("Ref"), props.get("MetricName")), []).append((rname, res))
    topic_actions = [{"Ref": "AlertTopic"}]
    for name, f in funcs.items():
        g = groups.get(name)
        if not g:
            fail(f"{name}: no AWS::Logs::LogGroup named !Sub \"/aws/lambda/${{{name}}}\"")
        else:
            if g[1].get("Properties", {}).get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
                fail(f"{g[0]}: RetentionInDays is not !Ref LogRetentionDays")
            if g[1].get("Condition") != f["Condition"]:
                fail(f"{g[0]}: Condition {g[1].get('Condition')} differs from {name}'s {f['Condition']}")
        for metric in ("Errors", "Throttles"):
            found = alarms.get((name, metric), [])
            if not found:
                fail(f"{name}: no {metric} alarm")
            for rname, res in found:
                if res.get("Condition") != f["Condition"]:
                    fail(f"{rname}: Condition {res.get('Condition')} differs from {name}'s {f['Condition']}")
    for rname, res in resources.items():
        if res.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = res.get("Properties", {})
        for key in ("AlarmActions", "OKActions"):
            if props.get(key) != topic_actions:
                fail(f"{rname}: {key} is not [!Ref AlertTopic]")
        if not props.get("AlarmDescription"):
            fail(f"{rname}: no AlarmDescription saying what to check")


# Outcomes a receiver answers 503 with (metrics.rs `Outcome`, snake_case): a provider's
# event not stored while the invocation itself succeeds.
UNAVAILABLE_OUTCOMES = ("unavailable", "contention")


# `impl [Trait for] Type { ... const SOURCE: &'static str = "name"; ...}`, no impl between.
SOURCE_IN_IMPL = re.compile(
    r"\bimpl\b(?:\s*<[^{;]*?>)?\s+(?:[\w:]+(?:<[^{;]*?>)?\s+for\s+)?(\w+)[^{;]*\{"
    r"(?:(?!\bimpl\b).)*?\bconst\s+SOURCE\s*:\s*&'static\s+str\s*=\s*\"([\w-]+)\"",
    re.S,
)


def receiver_providers(crate_of: dict[str, str]) -> dict[str, str]:
    """Webhook functions (their main.rs runs the shared pipeline's handler) and the provider
    name their metric lines carry: the `SOURCE` of the receiver their crate names."""
    sources = {}
    in_file: dict[Path, set[str]] = {}
    for f in list(SHARED_SRC.rglob("*.rs")) + list((ROOT / "functions").rglob("src/*.rs")):
        if f.name.endswith("_test.rs"):
            continue
        # The raw text: code_of strips string literals, and SOURCE is one.
        for m in SOURCE_IN_IMPL.finditer(f.read_text()):
            sources[m.group(1)] = m.group(2)
            in_file.setdefault(f, set()).add(m.group(2))
    out = {}
    for name, crate in crate_of.items():
        main = ROOT / crate / "src" / "main.rs"
        if not main.exists() or not re.search(r"pipeline::handler\b", code_of(main)):
            continue
        code = "\n".join(code_of(p) for p in crate_files(ROOT / crate))
        named = sorted({sources[t] for t in re.findall(r"\b(\w+)\b", code) if t in sources})
        if not named:
            # No receiver type named: the receiver module the crate uses (its `deps` and
            # `Config`), when it holds one receiver.
            named = sorted({s for f in referenced_modules(code, None) for s in in_file.get(f, ())})
        if len(named) != 1:
            fail(f"{name}: a webhook function whose receiver's SOURCE could not be told "
                 f"(found {named or 'none'})")
            continue
        out[name] = named[0]
    return out


def check_receiver_alarms(template: dict, funcs: dict[str, dict], crate_of: dict[str, str]) -> None:
    """Each webhook receiver has an alarm on its own 503s: the Requests metric (namespace
    dialtone) with Provider = its source and each of UNAVAILABLE_OUTCOMES, summed."""
    resources = template.get("Resources", {})
    for name, provider in sorted(receiver_providers(crate_of).items()):
        found = []
        for rname, res in resources.items():
            if res.get("Type") != "AWS::CloudWatch::Alarm":
                continue
            stats = {}
            for m in res.get("Properties", {}).get("Metrics", []) or []:
                metric = (m.get("MetricStat") or {}).get("Metric") or {}
                dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
                if (metric.get("Namespace"), metric.get("MetricName"), dims.get("Provider")) == \
                        ("dialtone", "Requests", provider):
                    stats[dims.get("Outcome")] = m.get("Id")
            if stats:
                found.append((rname, res, stats))
        if not found:
            fail(f"{name}: no alarm on its 503s (namespace dialtone, Requests, Provider={provider}, "
                 f"Outcome {' and '.join(UNAVAILABLE_OUTCOMES)})")
        for rname, res, stats in found:
            missing = [o for o in UNAVAILABLE_OUTCOMES if o not in stats]
            if missing:
                fail(f"{rname}: does not read Outcome {', '.join(missing)} for {provider}")
            shown = [m for m in res["Properties"]["Metrics"] if m.get("ReturnData", True)]
            expression = shown[0].get("Expression", "") if len(shown) == 1 else ""
            if not all(re.search(rf"\b{stats.get(o)}\b", expression) for o in UNAVAILABLE_OUTCOMES):
                fail(f"{rname}: its one returned metric must be an expression over "
                     f"{', '.join(str(stats.get(o)) for o in UNAVAILABLE_OUTCOMES)}")
            if res.get("Condition") != funcs[name].get("Condition"):
                fail(f"{rname}: Condition {res.get('Condition')} differs from {name}'s")


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    verbose = "-v" in argv
    path = Path(args[0]) if args else ROOT / "template.yaml"
    template, matches = decode_str(path.read_text())
    if matches or template is None:
        for m in matches:
            fail(f"{path}: {m}")
        return 1
    template = plain(template)
    funcs = functions_of(template)
    crate_of = check_functions(funcs)
    check_schedules(template)
    check_iam(template, funcs, crate_of, verbose)
    check_operations(template, funcs)
    check_receiver_alarms(template, funcs, crate_of)
    if errors:
        print(f"check_template: {len(errors)} problem(s) in {path}")
        return 1
    print(f"check_template: {path}: {len(funcs)} functions (runtime, binaries, schedules, IAM against the code, logs, alarms, receivers' 503 alarms) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
