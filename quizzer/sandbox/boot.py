"""The sandbox's first step inside the child: limits, the kernel boundary, then the target.

This file is not imported by quizzer. It runs as a script in the snippet's own interpreter
(which may be another Python than the one running quizzer, ``check --python``), so it uses
the standard library only, and only what Python 3.8 has::

    python -I boot.py CONFIG TARGET [ARGS...]

CONFIG is written by ``quizzer.sandbox.run._command``: records separated by ``\x1e``,
each a key and its items separated by ``\x1f`` (not JSON: importing json imports re,
which would cost more than everything else this file does).
In order, the child:

1. sets the resource limits (CPU, address space, file size, processes, no core files);
2. when started as root, gives up root: no supplementary groups, a uid/gid of its own
   with no capabilities except ``CAP_DAC_READ_SEARCH`` (reading past file modes, so an
   interpreter installed under ``/root`` still starts; Landlock below still decides which
   paths may be read, and the seccomp filter refuses ``open_by_handle_at``);
3. sets ``PR_SET_NO_NEW_PRIVS`` and ``PR_SET_PDEATHSIG`` (SIGKILL when quizzer goes);
4. restricts itself with Landlock, as far as the kernel's ABI goes (the degrade-by-ABI
   pattern of the kernel's ``samples/landlock/sandboxer.c``): read beneath the
   interpreter's own prefixes, the system's program and library folders and /proc, read
   a few files (``/dev/urandom``, ``/etc/localtime``, ...), execute only the interpreter,
   the dynamic loader and the programs the configuration names, read and write only
   beneath its own temporary directory (and plain files in /dev/shm); no TCP bind or
   connect (ABI 4); no device ioctls (ABI 5); signals and abstract unix sockets scoped
   to the sandbox (ABI 6);
5. installs a seccomp filter refusing ``socket()`` for AF_UNIX, AF_INET, AF_INET6,
   AF_NETLINK and AF_PACKET (so UDP is closed too), namespaces, io_uring, bpf, ptrace,
   TIOCSTI and a few other kernel interfaces a quiz snippet has no use for;
6. runs TARGET as ``__main__`` in this same interpreter (a second interpreter start would
   double the cost of a snippet): ``sys.argv`` is ``[TARGET, *ARGS]``, and an uncaught
   exception is reported as Python reports it, without this file's frame.

Every step the configuration asks for must succeed: if one fails the child writes
``quizzer-sandbox: ...`` and exits with status 126 before TARGET runs, and the sandbox
reports that as its own error, never as the snippet's answer.
"""

from __future__ import annotations

import os
import resource
import sys

#: What the interpreter put in ``__main__`` for a script (``__annotations__`` up to 3.13):
#: the snippet's module gets the same names.
_MAIN_NAMES = [name for name in globals() if name.startswith("__")]

# Not ``from typing import TYPE_CHECKING``: importing typing costs more than the boundary.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any, NoReturn

# _ctypes, not ctypes: importing ctypes builds dozens of types and costs about a quarter
# of a bare interpreter start, more than everything else this file does; these few
# definitions are what ctypes itself does for the types used here. A Python built without
# ctypes, or a system without prctl (macOS), gets the limits only: the parent asks for no
# boundary there, and if it did, setup() refuses instead of running the snippet unguarded.
try:
    import _ctypes as C
except ImportError:
    C = None  # type: ignore[assignment]
if TYPE_CHECKING:
    _SIMPLE = C._SimpleCData[Any]
    _STRUCT = C.Structure
    _FUNCPTR = C.CFuncPtr
else:
    _SIMPLE = C._SimpleCData if C is not None else object
    _STRUCT = C.Structure if C is not None else object
    _FUNCPTR = C.CFuncPtr if C is not None else object


class c_long(_SIMPLE):
    _type_ = "l"


class c_uint64(_SIMPLE):
    _type_ = "Q"


class c_uint32(_SIMPLE):
    _type_ = "I"


class c_int32(_SIMPLE):
    _type_ = "i"


class c_uint16(_SIMPLE):
    _type_ = "H"


class c_uint8(_SIMPLE):
    _type_ = "B"


class c_ulong(_SIMPLE):
    _type_ = "L"


class _Libc:
    _handle = C.dlopen(None, C.RTLD_LOCAL) if C is not None else None  # type: ignore[arg-type]


class _Function(_FUNCPTR):
    _flags_ = C.FUNCFLAG_CDECL | C.FUNCFLAG_USE_ERRNO if C is not None else 0
    _restype_ = c_long


def _lookup(name: str) -> Any:
    if C is None:
        return None
    try:
        return _Function((name, _Libc))  # type: ignore[arg-type]
    except AttributeError:  # not in this C library (prctl off Linux)
        return None


_syscall = _lookup("syscall")
_prctl = _lookup("prctl")
if _prctl is not None:
    _prctl.argtypes = [c_long, c_ulong, c_ulong, c_ulong, c_ulong]
_capset = _lookup("capset")
byref: Any = C.byref if C is not None else None


def errno_text() -> str:
    return os.strerror(C.get_errno())


PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
CAP_DAC_READ_SEARCH = 2

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every
# architecture (the generic table).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_RULE_NET_PORT = 2
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_TRUNCATE = 1 << 14
FS_IOCTL_DEV = 1 << 15
#: The rights on files (as opposed to folders) a rule for a single file may grant.
FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
FS_REMOVE_FILE = 1 << 5
FS_MAKE_REG = 1 << 8
FS_SHM = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_MAKE_REG | FS_REMOVE_FILE
NET_BIND_TCP = 1
NET_CONNECT_TCP = 2
SCOPE_ABSTRACT_UNIX_SOCKET = 1
SCOPE_SIGNAL = 2


def fail(message: str) -> NoReturn:
    sys.stderr.write("quizzer-sandbox: " + message + "\n")
    sys.stderr.flush()
    os._exit(126)


def prctl(option: int, arg2: int = 0, arg3: int = 0, what: str = "") -> None:
    if _prctl(option, arg2, arg3, 0, 0) != 0:
        fail(f"prctl {what or option}: {errno_text()}")


# -- limits and credentials -------------------------------------------------------------


def set_limits(rlimits: list[list[int]]) -> None:
    for number, soft, hard in rlimits:
        try:
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError) as exc:
            fail(f"cannot set resource limit {number}: {exc}")


class CapHeader(_STRUCT):
    _fields_ = [("version", c_uint32), ("pid", c_int32)]  # noqa: RUF012


class CapData(_STRUCT):
    _fields_ = [  # noqa: RUF012 (ctypes reads it as a list)
        ("effective", c_uint32),
        ("permitted", c_uint32),
        ("inheritable", c_uint32),
    ]


def drop_root(uid: int, gid: int) -> None:
    """Become ``uid``/``gid``, keeping CAP_DAC_READ_SEARCH alone (see the module's doc)."""
    cap = 0
    while True:
        if cap != CAP_DAC_READ_SEARCH and _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # EINVAL: past the last capability this kernel knows
        cap += 1
    prctl(PR_SET_KEEPCAPS, 1, what="PR_SET_KEEPCAPS")
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        fail(f"cannot drop root: {exc}")
    header = CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (CapData * 2)()
    bit = 1 << CAP_DAC_READ_SEARCH
    data[0].effective = data[0].permitted = data[0].inheritable = bit
    if _capset(byref(header), data) != 0:
        fail("capset: " + errno_text())
    # Ambient: kept across execve, so ``python3 -c`` run by the snippet reads its prefix too.
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, what="PR_CAP_AMBIENT")
    prctl(PR_SET_KEEPCAPS, 0, what="PR_SET_KEEPCAPS")


# -- Landlock ---------------------------------------------------------------------------


class RulesetAttr(_STRUCT):
    _fields_ = [  # noqa: RUF012 (ctypes reads it as a list)
        ("handled_access_fs", c_uint64),
        ("handled_access_net", c_uint64),
        ("scoped", c_uint64),
    ]


class PathBeneathAttr(_STRUCT):
    _pack_ = 1
    _fields_ = [("allowed_access", c_uint64), ("parent_fd", c_int32)]  # noqa: RUF012


def fs_rights(abi: int) -> int:
    """Every filesystem right the kernel's Landlock ABI knows."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def interpreter_paths() -> tuple[set[str], str]:
    """What this interpreter reads: its prefixes and the folder of its executable."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix} - {""}
    found = prefixes | {os.path.realpath(prefix) for prefix in prefixes}
    executable = os.path.realpath(sys.executable)
    found.add(os.path.dirname(executable))
    return found, executable


def landlock(abi: int, config: dict[str, Any]) -> None:
    handled_fs = fs_rights(abi)
    read_dir = FS_READ_FILE | FS_READ_DIR
    attr = RulesetAttr(handled_fs, 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = _syscall(SYS_LANDLOCK_CREATE_RULESET, byref(attr), size, 0)
    if ruleset < 0:
        fail("landlock_create_ruleset: " + errno_text())
    prefixes, executable = interpreter_paths()
    rules = []  # (path, rights); a missing path is skipped
    for path in sorted(prefixes) + config["read"]:
        rules.append((path, read_dir))
    for path in config["read_files"]:
        rules.append((path, FS_READ_FILE))
    for path in config["rw_files"]:
        rules.append((path, FS_READ_FILE | FS_WRITE_FILE | (handled_fs & FS_TRUNCATE)))
    # Executing: the interpreter itself, and the few programs the configuration names
    # (the dynamic loader, ``python3`` and ``sleep`` on the sandbox's PATH).
    for path in [executable] + config["exec"]:
        rules.append((path, FS_EXECUTE | FS_READ_FILE))
    for path in config["rw"]:
        rules.append((path, handled_fs & ~FS_IOCTL_DEV))
    # /dev/shm: regular files only (POSIX semaphores, which multiprocessing's locks are),
    # no folders, no programs; quizzer bounds their bytes and removes them after the run.
    for path in config["shm"]:
        rules.append((path, FS_SHM))
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_mode & 0o170000 != 0o040000:  # not a folder
                rights &= FS_FILE_RIGHTS
            rule = PathBeneathAttr(rights & handled_fs, fd)
            if (
                _syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, byref(rule), 0)
                != 0
            ):
                fail(f"landlock_add_rule {path}: {errno_text()}")
        finally:
            os.close(fd)
    if _syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
        fail("landlock_restrict_self: " + errno_text())
    os.close(ruleset)


# -- seccomp ----------------------------------------------------------------------------


class SockFilter(_STRUCT):
    _fields_ = [  # noqa: RUF012 (ctypes reads it as a list)
        ("code", c_uint16),
        ("jt", c_uint8),
        ("jf", c_uint8),
        ("k", c_uint32),
    ]


class SockFprog(_STRUCT):
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; } (LP64: the
    # pointer is an unsigned long, aligned after padding)
    _fields_ = [("len", c_uint16), ("filter", c_ulong)]  # noqa: RUF012


LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE = 0x35
JSET = 0x45
RET = 0x06
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
EPERM, EACCES, ENOSYS = 1, 13, 38
#: The socket families refused: every IP socket (TCP, UDP, raw), netlink, packet, and unix
#: sockets made with socket(): Landlock does not govern connecting to a unix socket by its
#: path, behind which may wait the user's session bus (systemd would start any program
#: for the snippet), an ssh or gpg agent, docker. socketpair(), a separate call, still
#: works (asyncio, multiprocessing's pipes), so does everything spawn and fork need.
REFUSED_FAMILIES = (1, 2, 10, 16, 17)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET
REFUSED_IOCTLS = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
CLONE_NEW_ANY = 0x7E020080

#: (audit arch, syscall numbers) per machine: socket, ioctl, clone, clone3, then refused.
SYSCALLS = {
    "x86_64": (
        0xC000003E,
        41,
        16,
        56,
        435,
        (
            272,
            308,  # unshare, setns
            425,
            426,
            427,  # io_uring (its SOCKET operation would pass the filter by)
            321,
            298,
            323,  # bpf, perf_event_open, userfaultfd
            248,
            249,
            250,  # add_key, request_key, keyctl
            303,
            304,  # name_to_handle_at, open_by_handle_at
            101,
            310,
            311,  # ptrace, process_vm_readv, process_vm_writev
            165,
            166,
            155,
            161,  # mount, umount2, pivot_root, chroot
        ),
    ),
    "aarch64": (
        0xC00000B7,
        198,
        29,
        220,
        435,
        (
            97,
            268,
            425,
            426,
            427,
            280,
            241,
            282,
            217,
            218,
            219,
            264,
            265,
            117,
            270,
            271,
            40,
            39,
            41,
            51,
        ),
    ),
}


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]]:
    arch, socket_nr, ioctl_nr, clone_nr, clone3_nr, refused = SYSCALLS[machine]
    ins = [(LD_ABS, 0, 0, 4), (JEQ, 1, 0, arch), (RET, 0, 0, ERRNO | EPERM), (LD_ABS, 0, 0, 0)]
    if machine == "x86_64":
        ins += [(JGE, 0, 1, 0x40000000), (RET, 0, 0, ERRNO | EPERM)]  # the x32 ABI
    for nr in refused:
        ins += [(JEQ, 0, 1, nr), (RET, 0, 0, ERRNO | EPERM)]
    # clone3 takes its flags in a struct a filter cannot read: ENOSYS makes the C library
    # fall back to clone, whose flags it can.
    ins += [(JEQ, 0, 1, clone3_nr), (RET, 0, 0, ERRNO | ENOSYS)]
    ins += [
        (JEQ, 0, 3, clone_nr),
        (LD_ABS, 0, 0, 16),
        (JSET, 0, 1, CLONE_NEW_ANY),
        (RET, 0, 0, ERRNO | EPERM),
    ]
    ins += [(LD_ABS, 0, 0, 0)]
    block = [(LD_ABS, 0, 0, 16)]
    for family in REFUSED_FAMILIES:
        block += [(JEQ, 0, 1, family), (RET, 0, 0, ERRNO | EACCES)]
    ins += [(JEQ, 0, len(block) + 1, socket_nr), *block, (LD_ABS, 0, 0, 0)]
    block = [(LD_ABS, 0, 0, 24)]
    for request in REFUSED_IOCTLS:
        block += [(JEQ, 0, 1, request), (RET, 0, 0, ERRNO | EPERM)]
    ins += [(JEQ, 0, len(block) + 1, ioctl_nr), *block, (LD_ABS, 0, 0, 0)]
    ins += [(RET, 0, 0, ALLOW)]
    return ins


def seccomp() -> None:
    machine = os.uname().machine
    if machine not in SYSCALLS:
        fail("no seccomp filter for " + machine)
    ins = seccomp_program(machine)
    program = (SockFilter * len(ins))(*[SockFilter(*i) for i in ins])
    fprog = SockFprog(len(ins), C.addressof(program))
    prctl(PR_SET_SECCOMP, 2, C.addressof(fprog), what="PR_SET_SECCOMP")


# -- running the target -----------------------------------------------------------------


def load(target: str) -> CodeType:
    with open(target, "rb") as handle:
        data = handle.read()
    if target.endswith(".pyc"):
        import marshal

        code: CodeType = marshal.loads(data[16:])
        return code
    return compile(data, target, "exec", dont_inherit=True)


def parse(text: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for record in text.split("\x1e"):
        key, _, items = record.partition("\x1f")
        config[key] = items.split("\x1f") if items else []
    config["rlimits"] = [[int(n) for n in item.split(",")] for item in config["rlimits"]]
    for key in ("uid", "gid", "parent", "landlock", "seccomp"):
        config[key] = int(config[key][0]) if config[key] else None
    return config


def main() -> None:
    try:
        code = setup()
    except Exception as exc:  # a bug here must not pass for the snippet's own exception
        fail(f"{type(exc).__name__}: {exc}")
    run(code)


def setup() -> CodeType | SyntaxError:
    """Everything before the snippet; returns the target's code (or its SyntaxError)."""
    config = parse(sys.argv[1])
    target = sys.argv[2]
    code: CodeType | SyntaxError
    try:
        code = load(target)
    except SyntaxError as exc:
        code = exc  # reported below, as Python would, once the boundary is up
    set_limits(config["rlimits"])
    if _prctl is None:
        if config["uid"] is not None or config["landlock"] or config["seccomp"]:
            fail("this interpreter cannot call prctl (no ctypes?): no boundary can be set up")
        return code
    if config["uid"] is not None:
        drop_root(config["uid"], config["gid"])
    if config["landlock"] or config["seccomp"]:
        prctl(PR_SET_NO_NEW_PRIVS, 1, what="PR_SET_NO_NEW_PRIVS")
    prctl(PR_SET_PDEATHSIG, 9, what="PR_SET_PDEATHSIG")
    if os.getppid() != config["parent"]:
        os._exit(137)  # quizzer went before PR_SET_PDEATHSIG was set
    if config["landlock"]:
        landlock(config["landlock"], config)
    if config["seccomp"]:
        seccomp()
    return code


def run(code: CodeType | SyntaxError) -> None:
    target = sys.argv[2]
    sys.argv = sys.argv[2:]
    main_module = type(sys)("__main__")
    main_module.__file__ = target
    main_module.__dict__["__builtins__"] = __builtins__
    main_module.__dict__["__cached__"] = None
    if "__annotations__" in _MAIN_NAMES:
        main_module.__annotations__ = {}
    external = sys.modules.get("_frozen_importlib_external")
    if external is not None:  # what a script run as __main__ has as its loader
        main_module.__loader__ = external.SourceFileLoader("__main__", target)
    sys.modules["__main__"] = main_module
    # Forget what booting imported, so the snippet sees the modules a plain start has.
    for name in ("_ctypes", "resource", "__future__"):
        sys.modules.pop(name, None)
    if isinstance(code, SyntaxError):
        import traceback

        traceback.print_exception(type(code), code, None)
        sys.exit(1)
    try:
        exec(code, main_module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        # Python's own report, without this file's frame: the hook prints the traceback
        # the exception holds, whatever it is given.
        tb = tb.tb_next if tb is not None else None
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        sys.exit(1)


main()
