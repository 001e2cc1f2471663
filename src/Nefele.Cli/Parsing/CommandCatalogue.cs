namespace Nefele.Cli.Parsing;

/// <summary>
/// Every nef command once: its synopsis, what it does, its flags and its help text. The overview
/// (nef help), each command's help (nef help CMD, nef CMD --help), "did you mean" and the shell
/// completion scripts are all made from this list.
/// </summary>
internal static class CommandCatalogue
{
    public static readonly string[] GlobalFlags = ["--tenant", "--api", "--help", "--version"];

    private const string SpawnFlags = """
          --cpu N          CPU to reserve: 250m (millicores), 1, 1.5 (cores); default none
          --mem N          memory limit: 64Mi, 1Gi, 4Ki (powers of 2), 512M, 1G (powers of 10), or bytes
          --env K=V        environment variable (repeatable)
          --name NAME      name shown by ps
          --cwd DIR        working directory
          --image NAME[:TAG]  run from one of the tenant's images (nef images); PROGRAM may then
                           be left out: the image's command runs
          --no-handshake   run without the shim handshake (static binaries)
          --tty            run on a pseudo-terminal (stdin, stdout, stderr and controlling
                           terminal); nef attach NPID types into it
          --request-id ID  make a retried spawn return the first answer
          --device D=N     devices to reserve, e.g. gpu=1 (repeatable; gpu alone means 1)
          --rlimit R=N     resource limit, soft = hard: nofile, nproc or core (bytes) (repeatable)
          --affinity SEL   run only on a node matching SEL (repeatable): npid:NPID (its node),
                           name:NAME (a node running a process of that name), label:K=V
          --anti-affinity SEL  never on a node matching SEL (repeatable)
        Everything after "--" (or from the first argument that is not a flag) is the program (an
        absolute path, or a name without '/' that the node looks up in the process's PATH, as
        execvp does) and its arguments, passed as they are.
        """;

    private static readonly string[] SpawnFlagNames =
        ["--cpu", "--mem", "--env", "--name", "--cwd", "--image", "--no-handshake", "--tty", "--request-id", "--device", "--rlimit", "--affinity", "--anti-affinity"];

    public static readonly IReadOnlyList<CommandSpec> Commands =
    [
        new("spawn", "spawn [FLAGS] -- PROGRAM [ARGS...]", "start a process; prints its NPID", $"""
            Starts PROGRAM with ARGS and prints its NPID once it runs.
            With --wait it runs it to its end instead, as systemd-run --wait or srun do: its output on
            stdout, its NPID and how it ended on stderr, its exit status as nef's (128+N for signal N,
            1 if it never ran).

            flags:
              --wait           run it to its end (see above)
            {SpawnFlags}
            example: nef spawn --mem 64Mi --name web -- python3 -m http.server 8080
            """, [.. SpawnFlagNames, "--wait"], Operand.Program),
        new("nspawn", "nspawn COUNT [FLAGS] [--partial] [--spread] -- PROGRAM [ARGS...]", "start COUNT copies; prints NPIDs one a line", $"""
            Starts COUNT copies of PROGRAM, all or none (with --partial, as many as fit), and
            prints their NPIDs, one a line.

            flags:
              --partial        start what fits rather than nothing (says on stderr what was left out)
              --spread         put the copies on distinct nodes as far as the cluster allows
            {SpawnFlags}
            example: nef nspawn 4 --cpu 1 --spread -- /usr/bin/worker --queue jobs
            """, [.. SpawnFlagNames, "--partial", "--spread"], Operand.Program),
        new("cspawn", "cspawn [--partial] [--spread] [--request-id ID] FILE.json", "start the tasks of a file; prints NPIDs", """
            Starts every task of FILE.json in one request (all or none; with --partial, what fits)
            and prints the NPIDs, one a line. The file: {"tasks": [{"path": "/bin/sleep", "args":
            ["5"], "cpu": "250m", "mem": "64Mi", "count": 2, ...}], "spread": true}; only path is
            required, unknown fields are errors (see the README of src/Nefele.Cli).

            flags:
              --partial        start what fits rather than nothing
              --spread         put the tasks on distinct nodes as far as possible
              --request-id ID  make a retried cspawn return the first answer
            """, ["--partial", "--spread", "--request-id"], Operand.File),
        new("ps", "ps [-a] [--json]", "list the tenant's processes", """
            Lists the tenant's live processes on every node: NPID NODE PID STATE CPU MEM AGE COMMAND.

            flags:
              -a, --all        add the processes that ended recently (the last 1,000)
              --json           print a JSON array of process records instead of the table
            """, ["-a", "--all", "--json"], Operand.None),
        new("monitor", "monitor NPID...", "wait for processes to end; print how each ended", """
            Waits for each process to end and prints how: "exited 0", "killed by SIGKILL (out of
            memory)", "lost (node ...)". With several NPIDs each line starts with "NPID: ", in the
            order the processes end. A process that has ended already is answered at once. The exit
            status is 0 whatever the processes did. If the node nef talks to goes away, nef goes on
            on another of the API endpoints, from the last event seen.
            """, [], Operand.Npid),
        new("kill", "kill [-SIGNAL] NPID...", "signal processes (default TERM)", """
            Sends SIGNAL (default TERM) to each process. SIGNAL is a number (-9), a name (-KILL,
            -hup) or -SIGKILL; -s SIGNAL also works.

            example: nef kill -HUP 5f3a...
            """, ["-s", "--signal"], Operand.Npid),
        new("killall", "killall [-SIGNAL] PATTERN", "signal every running process whose program name starts with PATTERN", """
            Sends SIGNAL (default TERM) to every Running process of the tenant whose program name
            (the basename of its command's first word) starts with PATTERN: "work" and "work*" both
            match /usr/bin/worker. A pattern that would match everything is refused.
            """, ["-s", "--signal"], Operand.Pattern),
        new("logs", "logs [-f] [--name N] [--npid X ...] [--node N] [--stream S] [--since T] [--until T] [-t] [NPID...]", "print the captured output of one process, or of many across nodes", """
            With one NPID and no other filter: the process's captured stdout and stderr byte for
            byte, in the order its node's hostd read them, or only one stream of it.

            Otherwise: the records of every process of the tenant that matches all the filters
            given (none: every process), on every node, merged in time order. When several
            processes may match, each line starts with its process (NAME/NPID, or the NPID) and
            "stderr" for standard error, then " | ", as docker compose logs prints them.

            flags:
              -f, --follow      go on printing as they write; with a filter, processes that
                                start later and match are followed too (until interrupted, or
                                until --until has passed); with one NPID, until it ends (resumed
                                on another API endpoint if the node goes away)
              --name N          processes spawned with --name N
              --npid X          this process (repeatable; NPIDs may also be given as operands)
              --node N          processes placed on node N
              --stream S        only stdout or only stderr
              --since T         records from T: an RFC 3339 time (2026-12-05T20:47:50Z) or a
                                duration ago (30s, 5m, 2h, 2d); default: all that is kept
              --until T         records before T (same forms)
              -t, --timestamps  each line starts with its record's time (RFC 3339, UTC, ns)

            example: nef logs -f --name web --since 5m
            """, ["-f", "--follow", "--name", "--npid", "--node", "--stream", "--since", "--until", "-t", "--timestamps"], Operand.Npid),
        new("attach", "attach [--read-only] [--detach-keys KEYS] NPID", "connect the terminal to a process's terminal (spawn --tty)", """
            Connects this terminal to the process's pseudo-terminal (a process spawned with --tty)
            over the API's WebSocket: what you type goes to the process (the terminal is put in raw
            mode while attached, so Ctrl-C and the like reach the process), its output is shown from
            now on, and its window size follows this terminal's. The detach keys (default ctrl-p
            ctrl-q, as docker attach) leave it running: nef prints "detached" and exits with 0;
            attach again at any time (a full-screen program redraws). When the process ends, nef
            exits with its status (128+N for signal N). A process without a terminal is shown
            read-only (its stdout and stderr live; input is ignored).

            flags:
              --read-only      only show the output (needs a viewer key only); ctrl-c or the
                               detach keys leave
              --detach-keys K  the key sequence that detaches: keys separated by commas, each
                               ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_,
                               or one character (default ctrl-p,ctrl-q)

            example: nef attach $(nef spawn --tty -- /bin/sh)
            """, ["--read-only", "--detach-keys"], Operand.Npid),
        new("send", "send DEST [--tag T] [--mode M] [--ack] [--wait D] < DATA", "send standard input as one message; prints how many mailboxes got it", """
            Sends standard input (at most 1 MiB) as one message to DEST: an NPID (or a mailbox
            address), a name, or a numeric service id #80. Prints the number of mailboxes the message
            was put in (--ack) or routed to. Order is FIFO per sender and receiver; delivery is at
            most once: a message in flight when its receiver's node dies, or queued when its
            receiver ends, is dropped (and counted). Inside a Nefele process the sender is the
            process; from outside it is the mailbox of the API key in use.

            flags:
              --tag T          a tag the receiver can select on (at most 64 printable ASCII characters)
              --mode M         any (one holder of the name, round-robin; the default for a name),
                               failover (the first live holder), all (every holder), broadcast
                               (every process of the tenant; DEST may be left out), publish (the
                               subscribers of the topic DEST)
              --ack            return once the message is in every target mailbox
              --wait D         when a mailbox is full, wait up to D (e.g. 2s, at most 10s) for room;
                               without it a full mailbox fails at once (mailbox_full)

            example: echo hello | nef send webserver --tag greeting
            """, ["--tag", "--mode", "--ack", "--wait"], Operand.None),
        new("publish", "publish TOPIC [--tag T] [--ack] [--wait D] < DATA", "send standard input to every subscriber of TOPIC", """
            Sends standard input as one message to every subscriber of TOPIC (send --mode publish)
            and prints how many got it (0 when nobody subscribes: not an error).
            """, ["--tag", "--ack", "--wait"], Operand.None),
        new("recv", "recv [--timeout D] [--tag T]", "print one message of the caller's mailbox", """
            Takes the oldest message of the caller's mailbox (inside a Nefele process, the process's;
            from outside, the API key's) and prints its bytes on stdout as they are. With --tag only
            a message with that tag is taken; the others stay queued in order. Nothing within the
            timeout (default 10s; 0 only looks): "nef: timed out ...", exit status 124.

            flags:
              --timeout D      how long to wait: 500ms, 10s, 5m; 0 does not wait
              --tag T          take only a message with this tag
            """, ["--timeout", "--tag"], Operand.None),
        new("register", "register NAME|#id [--npid NPID]", "register the caller (or NPID) under a name", """
            Registers the caller (inside a Nefele process, the process; from outside, the API key's
            mailbox), or NPID, under NAME or the numeric service id #id. Several holders of one
            name form a group; a name dies with its holder, also when its node is lost. NAME is 1-64
            letters, digits, '.', '_' or '-', starting with a letter or digit, and never has the
            shape of an NPID.
            """, ["--npid"], Operand.None),
        new("unregister", "unregister NAME|#id [--npid NPID]", "remove the caller (or NPID) from a name", """
            Removes the caller (or NPID) from the holders of NAME; name_not_found when it holds
            no such name.
            """, ["--npid"], Operand.None),
        new("wait", "wait NAME [--timeout D]", "wait until a name has a holder; prints the holders", """
            Waits until NAME (or #id) has at least one holder and prints the holders' NPIDs, one a
            line, in registration order. Nothing within the timeout (default 10s): exit status 124.

            flags:
              --timeout D      how long to wait: 500ms, 10s, 5m; 0 only looks
            """, ["--timeout"], Operand.None),
        new("names", "names [--topics] [PREFIX]", "list the tenant's names (or topics) with their holders", """
            Lists the tenant's names and service ids that start with PREFIX, a row per holder:
            NAME NPID NODE (NODE is - for an external mailbox). --topics lists topics and their
            subscribers instead.
            """, ["--topics"], Operand.None),
        new("subscribe", "subscribe TOPIC [--npid NPID]", "subscribe the caller (or NPID) to a topic", """
            The caller (or NPID) gets every message published to TOPIC from now on, until it
            unsubscribes or ends.
            """, ["--npid"], Operand.None),
        new("unsubscribe", "unsubscribe TOPIC [--npid NPID]", "end a subscription", """
            The caller (or NPID) no longer gets what is published to TOPIC.
            """, ["--npid"], Operand.None),
        new("sup", "sup start [--name N] [FILE.json] | sup ls | sup show NAME | sup resize NAME N | sup stop NAME", "start, list, show, resize or stop durable supervisors", """
            Durable supervisors with Erlang/OTP semantics: they outlive the node they run on.
            sup start [FILE.json]  start one from a spec file (standard input without FILE, or with -):
                                   {"name": "web", "strategy": "simple_one_for_one", "poolSize": 4,
                                   "maxRestarts": 8, "periodSeconds": 10, "children": [{"id": "worker",
                                   "restart": "permanent", "shutdown": "2s", "process": {"path": ...}}]};
                                   prints it once every child runs (the same spec again: the running one)
              --name N             its name, when the file has none
            sup ls                 NAME PHASE STRATEGY CHILDREN RESTARTS NODE
            sup show NAME          its phase, strategy, restarts and node; a row per child:
                                   ID NPID PHASE RESTART RESTARTS LAST END
            sup resize NAME N      a simple_one_for_one pool's new size
            sup stop NAME          stop its children in reverse order (each with its shutdown), forget it
            --json                 start, ls, show, resize: the status as JSON (ls: an array)
            From outside a Nefele process only (the REST API's /supervisors).
            """, ["start", "ls", "show", "resize", "stop", "--name", "--json"], Operand.Subcommand),
        new("images", "images [--json]", "list the tenant's images", """
            Lists the tenant's images, one row per tag: NAME TAG DIGEST SIZE CREATED (DIGEST is the
            first 12 hex digits of the image's sha256).

            flags:
              --json           print a JSON array of image records instead of the table
            """, ["--json"], Operand.None),
        new("image", "image push TARBALL NAME[:TAG] [--config FILE.json] [--digest D] | image commit NPID NAME[:TAG] | image rm NAME[:TAG]... | image ls | image default NAME[:TAG]|--none", "push, commit, remove, list the tenant's images, or set its default image", """
            push uploads TARBALL (a root filesystem, plain or gzip, at most 2 GiB) and tags it
            NAME:TAG (TAG default latest), replacing what the tag pointed at; prints NAME:TAG and
            the image's digest. Its config (the default command, env, user, working directory,
            and whether it boots systemd) comes from --config, else from the tarball's sibling
            .json (busybox.tar: busybox.json, as scripts/images writes them):
              {"cmd": ["/bin/sh"], "env": {"PATH": "/bin"}, "workingDir": "/", "systemd": false}
            commit tags NAME:TAG as the image process NPID runs (or ran) from plus the changes the
            tenant's processes made in that image's development overlay on its node (a node run
            with --container-mode development); prints NAME:TAG and the new image's digest.
            rm removes tags; an image's blobs go when no other tag uses them (processes running
            from it keep running). ls is nef images. default sets the image a spawn that names none
            runs from (the tenant's owner; --none clears it).
            NAME: 1-128 of lowercase letters, digits, '.', '_' or '-', starting with a letter or
            digit; TAG the same with uppercase letters allowed.

            flags:
              --config FILE    the image's config (push)
              --digest D       the tarball's expected sha256:<hex>; another is refused (push)
              --json           JSON instead of the table (ls)
              --none           no default image (default)

            example: nef image push busybox.tar busybox:1 && nef spawn --image busybox:1 --no-handshake -- /bin/echo hi
            """, ["--config", "--digest", "--json", "--none"], Operand.None),
        new("whoami", "whoami", "the key in use: its name, role and tenant", """
            Prints the API key nef uses: its name, its role and its tenant.
            """, [], Operand.None),
        new("tenant", "tenant create NAME [FLAGS] | tenant ls | tenant rm NAME", "create, list or remove tenants (admin)", """
            tenant create NAME   create a tenant; prints its name and the uid/gid its processes run as
              --privileged       its processes may keep root (admin only)
              --cpu N            CPU quota (250m, 2), default none
              --mem N            memory quota (8Gi), default none
              --max-processes N  live processes at most, default none
              --spawn-rate N     spawns per second at most, default none
            tenant ls            every tenant with its uid and quotas
            tenant rm NAME       remove a tenant with no live processes and revoke its keys
            """, ["create", "ls", "rm", "--privileged", "--cpu", "--mem", "--max-processes", "--spawn-rate"], Operand.Subcommand),
        new("key", "key create --name N [--role R] [--expires D] | key ls | key revoke NAME", "create, list or revoke API keys", """
            API keys of the tenant given by --tenant (else $NEFELE_TENANT, else "default").
            key create --name N  create a key; prints the secret alone (KEY=$(nef key create ...))
              --role R           owner, member (default) or viewer
              --expires D        lifetime: 30d, 12h, 90m, 3600s; default never
            key ls               the tenant's keys (never their secrets)
            key revoke NAME      every node refuses the key within a second
            """, ["create", "ls", "revoke", "--name", "--role", "--expires"], Operand.Subcommand),
        new("completion", "completion bash|zsh", "print a shell completion script", """
            Prints a completion script for bash or zsh. To load it in every shell:
              bash:  echo 'source <(nef completion bash)' >> ~/.bashrc
              zsh:   echo 'source <(nef completion zsh)' >> ~/.zshrc
            Commands, flags and signals complete; NPIDs complete from nef ps.
            """, [], Operand.Shell),
        new("help", "help [COMMAND]", "this text, or a command's own", """
            nef help prints the list of commands; nef help COMMAND (or nef COMMAND --help) prints
            that command's own help.
            """, [], Operand.Topic),
    ];

    public static CommandSpec? Find(string name) => Commands.FirstOrDefault(c => c.Name == name);

    /// <summary>The overview: synopsis and summary of every command, the global options, the exit statuses.</summary>
    public static string Overview()
    {
        var text = new System.Text.StringBuilder();
        text.Append("usage: nef [--tenant T] [--api URL[,URL...]] COMMAND [ARGS]\n\ncommands:\n");
        foreach (var c in Commands)
        {
            text.Append("  ").Append(c.Synopsis).Append('\n')
                .Append("      ").Append(c.Summary).Append('\n');
        }

        text.Append('\n').Append(GlobalHelp).Append('\n')
            .Append("Run 'nef help COMMAND' (or 'nef COMMAND --help') for a command's flags.\n");
        return text.ToString();
    }

    /// <summary>One command's help: its synopsis, then its text, then the global options.</summary>
    public static string For(CommandSpec command) =>
        $"usage: nef {command.Synopsis}\n\n{command.Details.TrimEnd()}\n\n{GlobalHelp}";

    private const string GlobalHelp = """
        global options:
          --tenant T   tenant to act for (else $NEFELE_TENANT, else "default")
          --api URL    the REST API (else $NEFELE_API, else "api = URL" in ~/.config/nefele/config,
                       else http://127.0.0.1:7400). Several, separated by commas, are nodes of one
                       cluster: nef uses the first that answers and fails over when one dies.
          -h, --help   help; --version: nef's version
        The API key comes from $NEFELE_TOKEN, else "token = ..." in ~/.config/nefele/config,
        else the node's admin key /etc/nefele/admin.key (root only; scripts/up writes it).
        Inside a Nefele process ($NEFELE_SOCKET set) nef talks to hostd's api socket, for the
        process's own tenant; --tenant and --api are refused there.
        exit status: 0 ok, 1 error reported by Nefele (or unreachable), 2 bad command line,
        124 a wait ran out (recv, wait).
        """;
}
