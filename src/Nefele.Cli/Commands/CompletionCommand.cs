using System.Text;
using Nefele.Cli.Parsing;

namespace Nefele.Cli.Commands;

/// <summary>
/// nef completion bash|zsh: a completion script made from the command catalogue, so it offers
/// exactly the commands and flags the parser takes. NPIDs complete from nef ps.
/// </summary>
internal sealed record CompletionCommand(string Shell) : INefCommand
{
    public bool Connects => false;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.WriteAsync(Shell == "zsh" ? Zsh() : Bash()).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }

    private static string Names => string.Join(' ', CommandCatalogue.Commands.Select(c => c.Name));

    private static string Globals => string.Join(' ', CommandCatalogue.GlobalFlags);

    /// <summary>shell "case" arms: each command's flags.</summary>
    private static string FlagCases(string indent)
    {
        var text = new StringBuilder();
        foreach (var c in CommandCatalogue.Commands)
        {
            var flags = string.Join(' ', c.Flags.Where(f => f.StartsWith('-')));
            text.Append(indent).Append(c.Name).Append(") flags=\"").Append(flags).Append("\" ;;\n");
        }

        return text.ToString();
    }

    /// <summary>shell "case" arms: each command that has subcommands.</summary>
    private static string SubcommandCases(string indent)
    {
        var text = new StringBuilder();
        foreach (var c in CommandCatalogue.Commands.Where(c => c.Operand == Operand.Subcommand))
        {
            text.Append(indent).Append(c.Name).Append(") subs=\"").Append(string.Join(' ', c.Flags.Where(f => !f.StartsWith('-')))).Append("\" ;;\n");
        }

        return text.ToString();
    }

    private static string OfKind(Operand kind) =>
        string.Join('|', CommandCatalogue.Commands.Where(c => c.Operand == kind).Select(c => c.Name));

    private static string Bash() => $$"""
        # bash completion for nef: source <(nef completion bash)
        _nef() {
          local cur="${COMP_WORDS[COMP_CWORD]}" cmd="" at=0 i=1 flags="" subs="" w
          # The command is the first word that is neither a flag nor the value of --tenant/--api.
          while [ "$i" -lt "$COMP_CWORD" ]; do
            case "${COMP_WORDS[i]}" in
              --tenant|--api) i=$((i + 2)); continue ;;
              -*) ;;
              *) cmd="${COMP_WORDS[i]}"; at=$i; break ;;
            esac
            i=$((i + 1))
          done
          case "${COMP_WORDS[COMP_CWORD-1]}" in --tenant|--api) return ;; esac
          if [ -z "$cmd" ]; then
            COMPREPLY=($(compgen -W "{{Names}} {{Globals}}" -- "$cur"))
            return
          fi
          case "$cmd" in
        {{FlagCases("    ")}}  esac
          case "$cmd" in
            {{OfKind(Operand.Program)}})
              # After "--" (or the program's name) come the program and its arguments.
              for w in "${COMP_WORDS[@]:at+1:COMP_CWORD-at-1}"; do
                case "$w" in --) COMPREPLY=($(compgen -c -- "$cur")); return ;; esac
              done ;;
          esac
          case "$cur" in
            -*) COMPREPLY=($(compgen -W "$flags --tenant --api --help" -- "$cur")); return ;;
          esac
          case "$cmd" in
            {{OfKind(Operand.Npid)}}) COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" ps 2>/dev/null | awk 'NR > 1 { print $1 }')" -- "$cur")) ;;
            {{OfKind(Operand.File)}}) COMPREPLY=($(compgen -f -- "$cur")) ;;
            {{OfKind(Operand.Program)}}) COMPREPLY=($(compgen -c -- "$cur")) ;;
            {{OfKind(Operand.Topic)}}) COMPREPLY=($(compgen -W "{{Names}}" -- "$cur")) ;;
            {{OfKind(Operand.Shell)}}) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
            {{OfKind(Operand.Subcommand)}})
              case "$cmd" in
        {{SubcommandCases("        ")}}      esac
              [ "$COMP_CWORD" -eq $((at + 1)) ] && COMPREPLY=($(compgen -W "$subs" -- "$cur")) ;;
          esac
        }
        complete -F _nef nef

        """;

    private static string Zsh()
    {
        var described = string.Join("\n    ", CommandCatalogue.Commands.Select(c => $"'{c.Name}:{c.Summary.Replace("'", "'\\''", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal)}'"));
        return $$"""
            #compdef nef
            # zsh completion for nef: source <(nef completion zsh) (after compinit)
            _nef() {
              local cmd="" at=0 i=2 flags="" subs="" cur="${words[CURRENT]}"
              local -a commands
              commands=(
                {{described}}
              )
              # The command is the first word that is neither a flag nor the value of --tenant/--api.
              while (( i < CURRENT )); do
                case "${words[i]}" in
                  --tenant|--api) (( i += 2 )); continue ;;
                  -*) ;;
                  *) cmd="${words[i]}"; at=$i; break ;;
                esac
                (( i++ ))
              done
              case "${words[CURRENT-1]}" in --tenant|--api) return ;; esac
              if [[ -z "$cmd" ]]; then
                if [[ "$cur" == -* ]]; then compadd -- {{Globals}}; else _describe 'command' commands; fi
                return
              fi
              case "$cmd" in
            {{FlagCases("    ")}}  esac
              if [[ "$cmd" == ({{OfKind(Operand.Program)}}) ]] && (( ${words[(i)--]} > at && ${words[(i)--]} < CURRENT )); then
                # After "--" come the program and its arguments.
                (( CURRENT -= ${words[(i)--]} )); shift ${words[(i)--]} words; _normal; return
              fi
              if [[ "$cur" == -* ]]; then
                compadd -- ${=flags} --tenant --api --help
                return
              fi
              case "$cmd" in
                {{OfKind(Operand.Npid)}}) compadd -- ${(f)"$(${words[1]} ps 2>/dev/null | awk 'NR > 1 { print $1 }')"} ;;
                {{OfKind(Operand.File)}}) _files ;;
                {{OfKind(Operand.Program)}}) _command_names -e ;;
                {{OfKind(Operand.Topic)}}) _describe 'command' commands ;;
                {{OfKind(Operand.Shell)}}) compadd -- bash zsh ;;
                {{OfKind(Operand.Subcommand)}})
                  case "$cmd" in
            {{SubcommandCases("        ")}}      esac
                  (( CURRENT == at + 1 )) && compadd -- ${=subs} ;;
              esac
            }
            compdef _nef nef

            """;
    }
}
