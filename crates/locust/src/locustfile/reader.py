"""Reads a locustfile with Python's own parser (ast) and prints, as JSON, the user classes it
declares in the static subset swarmlab runs, or every problem with its line.

It never imports or runs the file. Usage: python3 reader.py LOCUSTFILE
Output: {"classes": [...], "problems": [{"line": N, "what": "...", "instead": "..."}]}
"""

import ast
import json
import os
import sys
import re
import urllib.parse

CLIENT_BASES = {"HttpUser": "HttpUser", "FastHttpUser": "FastHttpUser"}
TASKSET_BASES = {"TaskSet": False, "SequentialTaskSet": True}
WAITS = {"constant": 1, "between": 2, "constant_throughput": 1, "constant_pacing": 1}
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
STDLIB = set(getattr(sys, "stdlib_module_names", ())) | {"locust", "gevent", "__future__"}


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_VISIBLE = re.compile(r"(?:[\x21-\x7e][\t\x20-\x7e]*)?").fullmatch


def _plain_field(name, value):
    """A header field both clients send as written: a token name, a value (or None, which
    removes a field) of visible ASCII, spaces and tabs, starting visible."""
    return isinstance(name, str) and bool(_TOKEN(name)) and (
        value is None or isinstance(value, str) and bool(_VISIBLE(value)))


class Problem(Exception):
    def __init__(self, node, what, instead):
        super().__init__(what)
        self.line = getattr(node, "lineno", 0)
        self.what = what
        self.instead = instead


class Reader:
    def __init__(self, tree, path):
        self.tree = tree
        self.path = path
        self.problems = []
        self.consts = {}  # module constants: name -> literal value
        self.classes = {}  # name -> ClassDef (module level and nested)
        self.parents = {}  # class name -> enclosing class name (for nested classes)

    def problem(self, node, what, instead):
        self.problems.append({"line": getattr(node, "lineno", 0), "what": what, "instead": instead})

    # ---------- values ----------
    def literal(self, node, ctx="a value"):
        """A literal value: constants, module constants, f-strings and + of those, dicts,
        lists and tuples of those."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.consts:
                return self.consts[node.id]
            raise Problem(node, f"the name '{node.id}' in {ctx}, which is not a module constant",
                          "use a literal value or a module-level NAME = \"...\" constant")
        if isinstance(node, ast.JoinedStr):
            out = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out.append(str(part.value))
                elif isinstance(part, ast.FormattedValue):
                    if part.format_spec is not None or part.conversion not in (-1, None):
                        raise Problem(part, f"a formatted f-string field in {ctx}",
                                      "use a plain {NAME} field of a module constant")
                    out.append(str(self.literal(part.value, ctx)))
            return "".join(out)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self.literal(node.left, ctx), self.literal(node.right, ctx)
            if isinstance(a, str) and isinstance(b, str):
                return a + b
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                return a + b
            raise Problem(node, f"adding values of different types in {ctx}", "write the value out")
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise Problem(node, f"**unpacking in {ctx}", "write the dict out")
            return {self.literal(k, ctx): self.literal(v, ctx) for k, v in zip(node.keys, node.values)}
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.literal(e, ctx) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.literal(node.operand, ctx)
            if isinstance(v, (int, float)):
                return -v
        if isinstance(node, ast.Call):
            raise Problem(node, f"a value computed at run time (a call) in {ctx}",
                          "use a literal value: swarmlab sends the same request each time")
        raise Problem(node, f"a value computed at run time in {ctx}",
                      "use a literal value or a module constant")

    def string(self, node, ctx):
        v = self.literal(node, ctx)
        if not isinstance(v, str):
            raise Problem(node, f"{ctx} that is not a string", "give a string")
        return v

    # ---------- module ----------
    def read(self):
        for node in self.tree.body:
            try:
                self.module_statement(node)
            except Problem as p:
                self.problems.append({"line": p.line, "what": p.what, "instead": p.instead})
        users = []
        for name, cls in self.classes.items():
            if name in self.parents:
                continue
            try:
                kind = self.user_kind(cls)
                if kind is None:
                    continue
                u = self.user(cls, kind)
                if u is not None:
                    users.append(u)
            except Problem as p:
                self.problems.append({"line": p.line, "what": p.what, "instead": p.instead})
        return users

    def import_kind(self, top, name):
        """What an import outside the standard library is: the project's own module (next to
        the locustfile), an installed package, or one that is not installed."""
        import importlib.util

        if top == ".":
            return f"importing your own module '{name}'"
        here = os.path.dirname(os.path.abspath(self.path))
        if os.path.exists(os.path.join(here, top + ".py")) or os.path.isdir(os.path.join(here, top)):
            return f"importing your own module '{name}'"
        try:
            found = importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return f"importing the installed package '{name}'"
        return f"importing '{name}', which is not installed for this python3"

    def module_statement(self, node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                top = n.split(".")[0]
                if isinstance(node, ast.ImportFrom) and node.level:
                    top = "."
                if top not in STDLIB:
                    raise Problem(node, self.import_kind(top, n), "put what the users need into the locustfile itself")
            return
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                self.consts[node.targets[0].id] = self.literal(node.value)
            except Problem:
                pass  # a value computed at run time: refused only where a request uses it
            return
        if isinstance(node, ast.ClassDef):
            self.collect_class(node, None)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                if self.is_event_hook(d):
                    raise Problem(node, "an event hook (events.*.add_listener)",
                                  "swarmlab runs no Python: drop the hook, or use Locust itself for it")
            return  # helpers: refused where a task calls them
        if isinstance(node, ast.If) and self.is_main_guard(node.test):
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return  # docstring
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and self.is_event_hook(node.value.func):
            raise Problem(node, "an event hook (events.*.add_listener)",
                          "swarmlab runs no Python: drop the hook, or use Locust itself for it")
        if isinstance(node, (ast.For, ast.While, ast.With, ast.Try)):
            raise Problem(node, f"module-level {type(node).__name__.lower()} code",
                          "keep the locustfile to imports, constants and classes")

    def is_event_hook(self, node):
        s = ast.unparse(node) if hasattr(ast, "unparse") else ""
        return "events." in s and ("add_listener" in s or s.startswith("events."))

    def is_main_guard(self, test):
        return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                and test.left.id == "__name__")

    def collect_class(self, node, parent):
        self.classes.setdefault(node.name, node)
        if parent is not None:
            self.parents[node.name] = parent
        for item in node.body:
            if isinstance(item, ast.ClassDef):
                self.classes[item.name] = item
                self.parents[item.name] = node.name
                self.collect_class(item, node.name)

    def base_names(self, cls):
        out = []
        for b in cls.bases:
            if isinstance(b, ast.Name):
                out.append(b.id)
            elif isinstance(b, ast.Attribute):
                out.append(b.attr)
        return out

    def user_kind(self, cls, seen=()):
        """HttpUser / FastHttpUser if cls is one (directly or through classes of this file)."""
        for b in self.base_names(cls):
            if b in CLIENT_BASES:
                return CLIENT_BASES[b]
            if b == "User":
                raise Problem(cls, f"class {cls.name}, a User with a client of its own",
                              "swarmlab's users speak HTTP: derive from HttpUser or FastHttpUser")
            if b == "LoadTestShape":
                raise Problem(cls, f"a LoadTestShape ({cls.name})",
                              "use -u/-r/-t, or change users while it runs from the web UI's Edit")
            if b in self.classes and b not in seen:
                k = self.user_kind(self.classes[b], seen + (b,))
                if k:
                    return k
        return None

    def taskset_kind(self, cls, seen=()):
        for b in self.base_names(cls):
            if b in TASKSET_BASES:
                return TASKSET_BASES[b]
            if b in self.classes and b not in seen:
                k = self.taskset_kind(self.classes[b], seen + (b,))
                if k is not None:
                    return k
        return None

    def attrs(self, cls, seen=()):
        """Class attributes, base classes of this file first."""
        out = {}
        for b in self.base_names(cls):
            if b in self.classes and b not in seen:
                out.update(self.attrs(self.classes[b], seen + (b,)))
        for item in cls.body:
            if isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
                out[item.targets[0].id] = item.value
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value:
                out[item.target.id] = item.value
        return out

    def methods(self, cls, seen=()):
        out = {}
        for b in self.base_names(cls):
            if b in self.classes and b not in seen:
                out.update(self.methods(self.classes[b], seen + (b,)))
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out[item.name] = item
        return out

    # ---------- users ----------
    def user(self, cls, kind):
        attrs = self.attrs(cls)
        own = {t.id: item.value for item in cls.body if isinstance(item, ast.Assign)
               for t in item.targets if isinstance(t, ast.Name)}
        if "abstract" in own and self.literal(own["abstract"]) is True:
            return None  # (Locust's metaclass makes abstract a class's own: not inherited)
        u = {"name": cls.name, "line": cls.lineno, "client": kind, "host": None, "weight": 1,
             "fixed_count": None, "wait": None, "sets": []}
        read = {"host": lambda v: self.string(v, "host"), "weight": lambda v: self.int(v, "weight"),
                "fixed_count": lambda v: self.int(v, "fixed_count"), "wait_time": self.wait}
        for attr, how in read.items():
            if attr in attrs:
                try:  # every problem of the class is told, not only its first
                    u["wait" if attr == "wait_time" else attr] = how(attrs[attr])
                except Problem as p:
                    self.problems.append({"line": p.line, "what": p.what, "instead": p.instead})
        self.taskset(cls, u["sets"], [], sequential=False)
        return u

    def int(self, node, ctx):
        v = self.literal(node, ctx)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise Problem(node, f"{ctx} that is not a whole number", "give a literal whole number")
        return v

    def wait(self, node):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in WAITS
                and len(node.args) == WAITS[node.func.id] and not node.keywords):
            args = [self.literal(a, "wait_time") for a in node.args]
            if all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
                return {"kind": node.func.id, "args": args}
        raise Problem(node, "this wait_time",
                      "use constant(S), between(A, B), constant_throughput(N) or constant_pacing(S) with numbers")

    def tags(self, node):
        out = []
        for d in getattr(node, "decorator_list", []):
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "tag":
                out += [self.string(a, "a tag") for a in d.args]
        return out

    def task_weight(self, node):
        """The @task weight of a function or class, or None if it is not a task."""
        for d in getattr(node, "decorator_list", []):
            if isinstance(d, ast.Name) and d.id == "task":
                return 1
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "task":
                if d.args:
                    return self.int(d.args[0], "a task weight")
                for k in d.keywords:
                    if k.arg == "weight":
                        return self.int(k.value, "a task weight")
                return 1
        return None

    def taskset(self, cls, sets, inherited_tags, sequential):
        """Appends the task set of class `cls` (a User's own, or a TaskSet) to `sets`; returns
        its index."""
        index = len(sets)
        ts = {"name": cls.name, "sequential": sequential, "wait": None, "on_start": [],
              "on_stop": [], "tasks": []}
        sets.append(ts)
        attrs = self.attrs(cls)
        methods = self.methods(cls)
        if "wait_time" in attrs and index > 0:
            ts["wait"] = self.wait(attrs["wait_time"])
        set_tags = inherited_tags + self.tags(cls)
        for hook in ("on_start", "on_stop"):
            if hook in methods and isinstance(methods[hook], ast.FunctionDef):
                steps, interrupt = self.body(methods[hook], cls, allow_interrupt=False)
                ts[hook] = steps
        entries = []  # (weight, node)
        if "tasks" in attrs:
            t = attrs["tasks"]
            if isinstance(t, (ast.List, ast.Tuple)):
                entries += [(1, e) for e in t.elts]
            elif isinstance(t, ast.Dict):
                entries += [(self.int(v, "a task weight"), k) for k, v in zip(t.keys, t.values)]
            else:
                raise Problem(t, "this tasks attribute", "use tasks = [a, b] or tasks = {a: 3, b: 1}")
        for name, item in methods.items():
            w = self.task_weight(item)
            if w is not None:
                entries.append((w, item))
        for weight, node in entries:
            try:
                self.task(ts, sets, methods, set_tags, index, weight, node)
            except Problem as p:
                self.problems.append({"line": p.line, "what": p.what, "instead": p.instead})
        if sequential:
            # a SequentialTaskSet runs its tasks in order, a task of weight N N times in a row
            expanded = []
            for t in ts["tasks"]:
                expanded += [dict(t, weight=1)] * max(t["weight"], 0)
            ts["tasks"] = expanded
        return index

    def task(self, ts, sets, methods, set_tags, index, weight, node):
        if True:
            target = node
            if isinstance(node, ast.Name):
                if node.id in methods:
                    target = methods[node.id]
                elif node.id in self.classes:
                    target = self.classes[node.id]
                else:
                    raise Problem(node, f"task '{node.id}', which is not a method or class of this file",
                                  "list methods of the class or TaskSet classes of the locustfile")
            elif isinstance(node, ast.Attribute):
                raise Problem(node, "a task given as an attribute", "name the method or class itself")
            tags = set_tags + self.tags(target)
            if isinstance(target, ast.ClassDef):
                seq = self.taskset_kind(target)
                if seq is None:
                    raise Problem(target, f"task class {target.name}, which is not a TaskSet",
                                  "derive it from TaskSet or SequentialTaskSet")
                child = self.taskset(target, sets, tags, seq)
                ts["tasks"].append({"weight": weight, "tags": tags, "name": target.name, "set": child})
            else:
                steps, interrupt = self.body(target, None, allow_interrupt=index > 0)
                ts["tasks"].append({"weight": weight, "tags": tags, "name": target.name,
                                    "steps": steps, "interrupt": interrupt, "line": target.lineno})

    # ---------- task bodies ----------
    def body(self, fn, cls, allow_interrupt):
        if isinstance(fn, ast.AsyncFunctionDef):
            raise Problem(fn, "an async task", "write it as a plain def")
        steps, interrupt = [], False
        for st in fn.body:
            try:
                interrupt = self.statement(st, steps, interrupt, allow_interrupt)
            except Problem as p:
                self.problems.append({"line": p.line, "what": p.what, "instead": p.instead})
        return steps, interrupt

    def statement(self, st, steps, interrupt, allow_interrupt):
        """One statement of a task: appends its request to `steps`; returns whether the task
        ends with self.interrupt()."""
        if True:
            if interrupt:
                raise Problem(st, "code after self.interrupt()", "end the task with self.interrupt()")
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                return interrupt
            if isinstance(st, ast.Pass):
                return interrupt
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
                call = st.value
                if self.is_self_call(call.func, "interrupt"):
                    if not allow_interrupt:
                        raise Problem(st, "self.interrupt() outside a TaskSet", "interrupt only from a TaskSet's task")
                    for k in call.keywords:
                        if k.arg == "reschedule" and self.literal(k.value) is not True:
                            raise Problem(k, "self.interrupt(reschedule=False)",
                                          "use self.interrupt(): the parent picks its next task at once")
                    return True
                steps.append(self.request(call, None))
                return interrupt
            if isinstance(st, ast.With):
                steps.append(self.with_request(st))
                return interrupt
            raise Problem(st, self.describe(st), self.advice(st))

    def describe(self, st):
        names = {ast.For: "a loop", ast.While: "a loop", ast.If: "a condition", ast.Assign: "an assignment",
                 ast.AugAssign: "an assignment", ast.Try: "a try block", ast.Return: "a return",
                 ast.Raise: "a raise"}
        kind = type(st).__name__.lower()
        what = names.get(type(st), f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} statement")
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            what = f"calling {ast.unparse(st.value.func) if hasattr(ast, 'unparse') else 'a function'}()"
        return f"{what} in a task"

    def advice(self, st):
        if isinstance(st, (ast.For, ast.While)):
            return "write the requests out one after another, or give the task a weight"
        if isinstance(st, ast.If):
            return "split the branches into tasks with weights"
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and "sleep" in ast.dump(st.value.func):
            return "use wait_time between tasks"
        return "tasks may only send requests (self.client.get(...), ...) and call self.interrupt()"

    def is_self_call(self, func, name):
        return (isinstance(func, ast.Attribute) and func.attr == name and isinstance(func.value, ast.Name)
                and func.value.id == "self")

    def client_method(self, func):
        """'get', 'post', ... or 'request' if func is self.client.X (or self.user.client.X)."""
        if not isinstance(func, ast.Attribute):
            return None
        v = func.value
        ok = (isinstance(v, ast.Attribute) and v.attr == "client" and
              ((isinstance(v.value, ast.Name) and v.value.id == "self") or
               (isinstance(v.value, ast.Attribute) and v.value.attr == "user"
                and isinstance(v.value.value, ast.Name) and v.value.value.id == "self")))
        if ok and (func.attr in METHODS or func.attr == "request"):
            return func.attr
        return None

    def request(self, call, catch):
        method = self.client_method(call.func)
        if method is None:
            raise Problem(call, self.describe(ast.Expr(value=call)), self.advice(ast.Expr(value=call)))
        args = list(call.args)
        kw = {k.arg: k.value for k in call.keywords}
        if None in kw:
            raise Problem(call, "**kwargs in a request", "write the keyword arguments out")
        if method == "request":
            if args:
                method = self.string(args.pop(0), "the method")
            elif "method" in kw:
                method = self.string(kw.pop("method"), "the method")
            else:
                raise Problem(call, "a request without a method", "self.client.request(\"GET\", \"/path\")")
        url_node = args.pop(0) if args else kw.pop("url", None)
        if url_node is None:
            raise Problem(call, "a request without a URL", "give the path as the first argument")
        url = self.string(url_node, "the URL")
        if any(not ("!" <= ch <= "~") for ch in url):
            # python-requests percent-encodes spaces, CR, LF and other such characters before
            # sending (requote_uri), as the Python path does; never sent as they are
            raise Problem(url_node, "a URL with spaces, control or non-ASCII characters",
                          "percent-encode them (%20, %0D%0A)")
        if args:
            raise Problem(args[0], "more positional arguments than the URL", "pass the rest by keyword")
        step = {"line": call.lineno, "method": method.upper(), "url": url, "name": None, "headers": [],
                "body": None, "allow_redirects": True, "catch": None}
        params = None
        extra = []  # headers implied by data=, json=, auth=, after the user's own
        for k, v in kw.items():
            if k == "name":
                step["name"] = self.string(v, "name=")
            elif k == "headers":
                h = self.literal(v, "headers=")
                if not isinstance(h, dict):
                    raise Problem(v, "a headers= that is not a dict", "headers={\"X\": \"y\"}")
                for a, b in h.items():
                    if not _plain_field(a, b):
                        # python-requests fails such a request (InvalidHeader), geventhttpclient
                        # raises in the task: the Python path does what each client does
                        raise Problem(v, f"a header field the client checks as it sends ({a!r}: {b!r})",
                                      "header names are tokens, values visible ASCII")
                step["headers"] = [[a, b] for a, b in h.items()]
            elif k == "data":
                d = self.literal(v, "data=")
                if isinstance(d, dict):
                    step["body"] = urllib.parse.urlencode(d)
                    extra.append(["Content-Type", "application/x-www-form-urlencoded"])
                elif isinstance(d, bytes):
                    step["body"] = d.decode("latin-1")
                elif isinstance(d, str):
                    step["body"] = d
                elif d is not None:
                    raise Problem(v, "this data=", "give a string, bytes or a dict")
            elif k == "json":
                step["body"] = json.dumps(self.literal(v, "json="))
                step["json"] = True
                extra.append(["Content-Type", "application/json"])
            elif k == "params":
                params = self.literal(v, "params=")
                if not isinstance(params, dict):
                    raise Problem(v, "a params= that is not a dict", "params={\"q\": \"x\"}")
            elif k == "allow_redirects":
                step["allow_redirects"] = bool(self.literal(v, "allow_redirects="))
            elif k == "catch_response":
                if self.literal(v, "catch_response=") is not True:
                    continue
                if catch is None:
                    raise Problem(v, "catch_response=True outside a with block",
                                  "with self.client.get(..., catch_response=True) as r: ...")
            elif k == "auth":
                a = self.literal(v, "auth=")
                import base64
                token = base64.b64encode(f"{a[0]}:{a[1]}".encode()).decode()
                extra.append(["Authorization", f"Basic {token}"])
            else:
                raise Problem(v, f"{k}= in a request",
                              "use name=, headers=, data=, json=, params=, allow_redirects=, auth= or catch_response=")
        given = {h[0].lower() for h in step["headers"]}
        step["headers"] += [h for h in extra if h[0].lower() not in given]
        if params:
            sep = "&" if "?" in url else "?"
            step["url"] = url + sep + urllib.parse.urlencode(params, doseq=True)
            step["url_as_written"] = url
        else:
            step["url_as_written"] = url
        if catch is not None:
            step["catch"] = catch
        return step

    def with_request(self, st):
        if (len(st.items) != 1 or not isinstance(st.items[0].context_expr, ast.Call)
                or not self.client_method(st.items[0].context_expr.func)):
            raise Problem(st, "a with block that is not a request", "tasks may only send requests")
        item = st.items[0]
        catch = [k for k in item.context_expr.keywords if k.arg == "catch_response"]
        if not catch or not (isinstance(catch[0].value, ast.Constant) and catch[0].value.value is True):
            raise Problem(st, "a with block on a request without catch_response=True (Locust raises LocustError for it)",
                          "pass catch_response=True to judge the response in the block")
        if not isinstance(item.optional_vars, ast.Name):
            raise Problem(st, "a with block without 'as r'", "with self.client.get(..., catch_response=True) as r:")
        r = item.optional_vars.id
        rules = self.judge(st.body, r)
        return self.request(item.context_expr, {"rules": rules})

    # ---------- catch_response ----------
    def judge(self, stmts, r):
        """if/elif/else chains judging the response: a list of {cond, action} tried in order."""
        rules = []
        for st in stmts:
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                continue
            if isinstance(st, ast.Pass):
                continue
            if isinstance(st, ast.If):
                node = st
                while True:
                    rules.append({"cond": self.cond(node.test, r), "action": self.action(node.body, r)})
                    if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                        node = node.orelse[0]
                        continue
                    if node.orelse:
                        rules.append({"cond": {"true": True}, "action": self.action(node.orelse, r)})
                    break
                continue
            if isinstance(st, ast.Expr):
                rules.append({"cond": {"true": True}, "action": self.action([st], r)})
                continue
            raise Problem(st, "this statement judging a response",
                          "judge it with if/elif/else on r.status_code or '...' in r.text, calling r.success() or r.failure('...')")
        return rules

    def action(self, stmts, r):
        acts = [s for s in stmts if not isinstance(s, ast.Pass)]
        if not acts:
            return {"kind": "none"}
        if len(acts) == 1 and isinstance(acts[0], ast.Expr) and isinstance(acts[0].value, ast.Call):
            call = acts[0].value
            f = call.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == r:
                if f.attr == "success" and not call.args:
                    return {"kind": "success"}
                if f.attr == "failure" and len(call.args) == 1:
                    return {"kind": "failure", "message": self.message(call.args[0], r)}
        raise Problem(stmts[0], "this branch", f"a branch may call {r}.success() or {r}.failure('...'), or pass")

    def message(self, node, r):
        """A failure message: a string, or an f-string whose fields are constants or
        r.status_code (kept as {status_code})."""
        if isinstance(node, ast.JoinedStr):
            out = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out.append(str(part.value).replace("{", "{{").replace("}", "}}"))
                elif (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Attribute)
                      and part.value.attr == "status_code" and isinstance(part.value.value, ast.Name)
                      and part.value.value.id == r):
                    out.append("{status_code}")
                else:
                    out.append(str(self.literal(part.value, "a failure message")).replace("{", "{{").replace("}", "}}"))
            return "".join(out)
        return self.string(node, "a failure message").replace("{", "{{").replace("}", "}}")

    def cond(self, node, r):
        if isinstance(node, ast.BoolOp):
            return {("and" if isinstance(node.op, ast.And) else "or"): [self.cond(v, r) for v in node.values]}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return {"not": self.cond(node.operand, r)}
        if self.is_attr(node, r, "ok"):
            return {"status_lt": 400}
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, op, right = node.left, node.ops[0], node.comparators[0]
            if self.is_attr(left, r, "status_code"):
                v = self.literal(right, "a status check")
                if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(v, int):
                    c = {"status_in": [v]}
                    return c if isinstance(op, ast.Eq) else {"not": c}
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(v, list):
                    c = {"status_in": [int(x) for x in v]}
                    return c if isinstance(op, ast.In) else {"not": c}
                ops = {ast.Lt: "status_lt", ast.GtE: "status_ge", ast.Gt: "status_gt", ast.LtE: "status_le"}
                if type(op) in ops and isinstance(v, int):
                    return {ops[type(op)]: v}
            if isinstance(op, (ast.In, ast.NotIn)) and (self.is_attr(right, r, "text") or self.is_attr(right, r, "content")):
                v = self.literal(left, "a text check")
                if isinstance(v, bytes):
                    v = v.decode("latin-1")
                if isinstance(v, str):
                    c = {"text_contains": v}
                    return c if isinstance(op, ast.In) else {"not": c}
            if self.is_attr(left, r, "text") and isinstance(op, (ast.Eq, ast.NotEq)):
                v = self.literal(right, "a text check")
                if isinstance(v, str):
                    c = {"text_eq": v}
                    return c if isinstance(op, ast.Eq) else {"not": c}
        raise Problem(node, "this check of the response",
                      f"check {r}.status_code against numbers, or '...' in {r}.text")

    def is_attr(self, node, r, attr):
        return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
                and node.value.id == r)


def main():
    path = sys.argv[1]
    try:
        source = open(path, encoding="utf-8").read()
    except OSError as e:
        print(json.dumps({"classes": [], "problems": [{"line": 0, "what": f"a file that cannot be read ({e.strerror})", "instead": "check the path"}]}))
        return
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        print(json.dumps({"classes": [], "problems": [{"line": e.lineno or 0, "what": f"a syntax error ({e.msg})", "instead": "fix it: Locust could not read the file either"}]}))
        return
    reader = Reader(tree, path)
    users = reader.read()
    if not users and not reader.problems:
        reader.problems.append({"line": 0, "what": "a locustfile without an HttpUser or FastHttpUser class",
                                "instead": "declare class MyUser(HttpUser) with @task methods"})
    print(json.dumps({"classes": users, "problems": reader.problems, "client_env": client_env()}))


def client_env():
    """What this python3's packages make Locust's clients send: python-requests' version (its
    User-Agent) and whether urllib3 may offer br (a brotli module installed)."""
    import importlib.util
    from importlib import metadata

    def version(package):
        try:
            return metadata.version(package)
        except Exception:
            return None

    def has(module):
        try:
            return importlib.util.find_spec(module) is not None
        except Exception:
            return False

    return {"requests": version("requests"), "geventhttpclient": version("geventhttpclient"),
            "brotli": has("brotli") or has("brotlicffi")}


main()
