namespace Nefele.Cli.Commands;

/// <summary>nef help [COMMAND], -h, --help: usage on stdout.</summary>
internal sealed record HelpCommand(string? Topic) : INefCommand
{
    public const string Usage = """
        usage: nef [--tenant T] [--api URL] COMMAND [ARGS]

        commands:
          spawn  [FLAGS] -- PATH [ARGS...]          start a process; prints its NPID
          nspawn COUNT [FLAGS] [--partial] [--spread] -- PATH [ARGS...]
                                                    start COUNT copies; prints NPIDs one a line
          cspawn [--partial] [--spread] [--request-id ID] FILE.json
                                                    start the tasks of a file; prints NPIDs
          ps [-a] [--json]                          list the tenant's live processes (-a: and those that ended recently)
          monitor NPID...                           wait for each process to end; print how it ended
          kill [-SIGNAL] NPID...                    signal processes (default TERM)
          killall [-SIGNAL] PATTERN                 signal every running process whose program
                                                    name starts with PATTERN ("prog" or "prog*")
          logs [-f] NPID                            print captured output; -f follows to the end
          help [COMMAND]                            this text

          whoami                                    the key in use: its name, role and tenant
          tenant create NAME [--privileged] [--cpu N] [--mem N] [--max-processes N] [--spawn-rate N]
                                                    create a tenant (admin); prints its uid
          tenant ls | tenant rm NAME                list or remove tenants (admin)
          key create --tenant T --name N [--role owner|member|viewer] [--expires 30d]
                                                    create an API key; prints the secret alone
          key ls --tenant T | key revoke --tenant T NAME

        spawn flags:
          --cpu N          CPU to reserve: 250m (millicores), 1, 1.5 (cores); default none
          --mem N          memory limit: 64Mi, 1Gi, 512M, 1G, 4Ki, or bytes; default none
          --env K=V        environment variable (repeatable)
          --name NAME      name shown by ps
          --cwd DIR        working directory
          --no-handshake   run without the shim handshake (static binaries)
          --wait           (spawn) run it to its end: its output on stdout, its NPID and how
                           it ended on stderr, its exit status as nef's (128+N: signal N)
          --request-id ID  make a retried spawn return the first answer
          --device D=N     devices to reserve, e.g. gpu=1 (repeatable)
          --rlimit R=N     resource limit, soft = hard: nofile, nproc or core (bytes)
                           (repeatable); default the node's
          --affinity SEL   run only on a node matching SEL (repeatable): npid:NPID (its node),
                           name:NAME (a node running a process of that name), label:K=V
          --anti-affinity SEL  never on a node matching SEL (repeatable)
          --spread         (nspawn, cspawn) put the copies on distinct nodes as far as possible
          Everything after "--" (or from the first argument that is not a flag) is the
          program and its arguments, passed as they are.

        SIGNAL: a number (9), a name (KILL) or SIGNAME (SIGKILL).

        global options:
          --tenant T   tenant to act for (else $NEFELE_TENANT, else "default")
          --api URL    the node's REST API (else $NEFELE_API, else http://127.0.0.1:7400)
        The API key comes from $NEFELE_TOKEN, else "token = …" in ~/.config/nefele/config,
        else the node's admin key /etc/nefele/admin.key (root only; scripts/up writes it).
          -h, --help   this text
        Inside a Nefele process ($NEFELE_SOCKET set) nef talks to hostd's api socket instead,
        and the tenant is the calling process's own.

        exit status: 0 ok, 1 error reported by Nefele (or unreachable), 2 bad command line.
        """;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.WriteLineAsync(Usage).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }
}
