import { Argument, type Command, type CommandUnknownOpts, type Help, type Option } from '@commander-js/extra-typings';

/**
 * `bookd completion bash|zsh|fish`: a completion script generated from the commander tree at the
 * moment it is asked for, so a new command, subcommand or option completes without anyone editing
 * a script. Every shell gets the same model: walk the words typed so far to find the command path
 * (skipping options and the values they take, since global options may appear anywhere), then
 * offer that path's subcommands, its options, an option's value, or a positional argument.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What the word after an option, or a positional argument, completes to. */
type ValueHint = { kind: 'none' } | { kind: 'file' } | { kind: 'dir' } | { kind: 'words'; words: string[] };

interface OptionSpec {
  /** `-q`, `--quiet`: every spelling. */
  names: string[];
  description: string;
  /** Whether the next word is this option's value (optional values never take the next word). */
  takesValue: boolean;
  value: ValueHint;
}

interface CommandSpec {
  /** Names from the root down, e.g. ['sessions', 'add']; [] for the root. */
  path: string[];
  name: string;
  description: string;
  commands: CommandSpec[];
  /** Its own options and those of its ancestors (commander accepts those after the command too). */
  options: OptionSpec[];
  /** One hint per declared positional argument; the last repeats when it is variadic. */
  args: ValueHint[];
  variadic: boolean;
}

/** A `<dir>`/`<file>` in the option's flags or an argument name says what kind of path it wants. */
function hintFor(valueName: string | undefined, choices: readonly string[] | undefined): ValueHint {
  if (choices && choices.length > 0) return { kind: 'words', words: [...choices] };
  const name = (valueName ?? '').toLowerCase();
  if (/(^|-)dir$/.test(name)) return { kind: 'dir' };
  if (/(^|-)file$/.test(name)) return { kind: 'file' };
  return { kind: 'none' };
}

/** The first sentence without its asides in parentheses (env variables, defaults): menus are narrow. */
function shortDescription(text: string): string {
  const plain = text
    .split('\n')[0]!
    .replace(/\s*\([^()]*\)/g, '')
    .trim();
  return plain
    .split(/(?<=\.) |; /)[0]!
    .replace(/\.$/, '')
    .trim();
}

function optionSpec(o: Option): OptionSpec {
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1]?.replace(/\.\.\.$/, '');
  return {
    names: [o.short, o.long].filter((n): n is string => typeof n === 'string'),
    description: shortDescription(o.description),
    takesValue: o.required,
    value: o.required || o.optional ? hintFor(valueName, o.argChoices) : { kind: 'none' },
  };
}

function buildSpec(help: Help, cmd: CommandUnknownOpts, path: string[], inherited: OptionSpec[]): CommandSpec {
  const own = help.visibleOptions(cmd).map(optionSpec);
  const ownNames = new Set(own.flatMap((o) => o.names));
  // A command's own option wins over an ancestor's of the same spelling.
  const options = [...own, ...inherited.filter((o) => !o.names.some((n) => ownNames.has(n)))];
  // Help and version belong to the command they are given to; they are not passed down.
  const passDown = options.filter((o) => !o.names.includes('--help') && !o.names.includes('--version'));
  const subcommands = help.visibleCommands(cmd);
  const siblings = subcommands.map((c) => c.name()).filter((n) => n !== 'help');
  const commands = subcommands.flatMap((sub) => {
    const spec = buildSpec(help, sub, [...path, sub.name()], passDown);
    // commander's implicit `help [command]` names one of its siblings.
    if (sub.name() === 'help' && spec.args.length > 0) spec.args = [{ kind: 'words', words: siblings }];
    // An alias is the same command under another name: same completions.
    return [spec, ...sub.aliases().map((alias) => ({ ...spec, name: alias, path: [...path, alias] }))];
  });
  const declared: readonly Argument[] = cmd.registeredArguments;
  return {
    path,
    name: cmd.name(),
    description: shortDescription(cmd.description()),
    commands,
    options,
    args: declared.map((a) => hintFor(a.name(), a.argChoices)),
    variadic: declared.at(-1)?.variadic ?? false,
  };
}

function walk(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(walk)];
}

/** Single-quoted for sh, bash and zsh. */
function shq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Single-quoted for fish, whose quotes know only \\ and \'. */
function fishq(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function valueWords(hint: ValueHint): string[] {
  switch (hint.kind) {
    case 'file':
      return ['@file'];
    case 'dir':
      return ['@dir'];
    case 'words':
      return hint.words;
    case 'none':
      return [];
  }
}

function valueOptions(spec: CommandSpec): string[] {
  return spec.options.filter((o) => o.takesValue).flatMap((o) => o.names);
}

/**
 * The case arms both bash and zsh read their tables from: `PATH|cmds`, `PATH|opts`, `PATH|valopts`,
 * `PATH|value OPTION` and `PATH|arg N`. `assign` renders the list for one arm.
 */
function tableArms(specs: CommandSpec[], assign: (spec: CommandSpec, what: string) => string | undefined): string[] {
  const arms: string[] = [];
  const arm = (spec: CommandSpec, what: string, pattern: string) => {
    const body = assign(spec, what);
    if (body !== undefined) arms.push(`    ${pattern}) ${body} ;;`);
  };
  for (const spec of specs) {
    const key = spec.path.join(' ');
    arm(spec, 'cmds', shq(`${key}|cmds`));
    arm(spec, 'opts', shq(`${key}|opts`));
    arm(spec, 'valopts', shq(`${key}|valopts`));
    for (const o of spec.options) {
      if (!o.takesValue) continue;
      for (const n of o.names) arm(spec, `value ${n}`, shq(`${key}|value ${n}`));
    }
    spec.args.forEach((_, i) => {
      const last = i === spec.args.length - 1 && spec.variadic;
      arm(spec, `arg ${i}`, last ? `${shq(`${key}|arg `)}*` : shq(`${key}|arg ${i}`));
    });
  }
  return arms;
}

function specLookup(spec: CommandSpec, what: string): { words: string[]; described?: string[] } | undefined {
  if (what === 'cmds') {
    return { words: spec.commands.map((c) => c.name), described: spec.commands.map((c) => `${c.name.replace(/:/g, '\\:')}:${c.description}`) };
  }
  if (what === 'opts') {
    return { words: spec.options.flatMap((o) => o.names), described: spec.options.flatMap((o) => o.names.map((n) => `${n}:${o.description}`)) };
  }
  if (what === 'valopts') return { words: valueOptions(spec) };
  if (what.startsWith('value ')) {
    const name = what.slice('value '.length);
    const o = spec.options.find((x) => x.names.includes(name));
    return o ? { words: valueWords(o.value) } : undefined;
  }
  if (what.startsWith('arg ')) {
    const hint = spec.args[Number(what.slice('arg '.length))];
    return hint ? { words: valueWords(hint) } : undefined;
  }
  return undefined;
}

function bashScript(root: CommandSpec): string {
  const arms = tableArms(walk(root), (spec, what) => {
    const found = specLookup(spec, what);
    return found && found.words.length > 0 ? `REPLY=${shq(found.words.join(' '))}` : undefined;
  });
  return `# bash completion for bookd, generated by \`bookd completion bash\` from its commands.
# Load it now with:  source <(bookd completion bash)
# or for good with:  bookd completion bash > ~/.local/share/bash-completion/completions/bookd

# __bookd_spec PATH WHAT: sets REPLY to the words of PATH's subcommands (cmds), options (opts),
# options that take a value (valopts), an option's values (value OPT) or a positional (arg N);
# @file and @dir stand for paths.
__bookd_spec() {
  REPLY=''
  case "$1|$2" in
${arms.join('\n')}
  esac
}

__bookd_offer() {
  local IFS=$'\\n'
  case $1 in
    @file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
    @dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$2")) ;;
    *) IFS=$' \\t\\n'; COMPREPLY=($(compgen -W "$1" -- "$2")) ;;
  esac
}

_bookd() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath='' valueof='' w REPLY
  local -i i=1 j npos=0
  COMPREPLY=()
  while (( i < COMP_CWORD )); do
    w=\${COMP_WORDS[i]}
    if [[ $w == -?* ]]; then
      __bookd_spec "$cmdpath" valopts
      if [[ $w != *=* && " $REPLY " == *" $w "* ]]; then
        j=i+1
        # bash splits --opt=value at the "=" into three words.
        [[ \${COMP_WORDS[j]} == = ]] && j+=1
        if (( j >= COMP_CWORD )); then valueof=$w; break; fi
        i=j
      fi
    elif [[ $w != = ]]; then
      __bookd_spec "$cmdpath" cmds
      if [[ -n $REPLY && " $REPLY " == *" $w "* ]]; then cmdpath=\${cmdpath:+$cmdpath }$w; npos=0; else npos+=1; fi
    fi
    i+=1
  done
  if [[ -n $valueof ]]; then
    [[ $cur == = ]] && return 0
    __bookd_spec "$cmdpath" "value $valueof"
    __bookd_offer "$REPLY" "$cur"
    return 0
  fi
  if [[ $cur == -* ]]; then
    __bookd_spec "$cmdpath" opts
    __bookd_offer "$REPLY" "$cur"
    return 0
  fi
  __bookd_spec "$cmdpath" cmds
  if [[ -z $REPLY ]]; then __bookd_spec "$cmdpath" "arg $npos"; fi
  __bookd_offer "$REPLY" "$cur"
  return 0
}

complete -F _bookd bookd
`;
}

function zshScript(root: CommandSpec): string {
  const arms = tableArms(walk(root), (spec, what) => {
    const found = specLookup(spec, what);
    const words = found?.described ?? found?.words ?? [];
    return words.length > 0 ? `__bookd_r=(${words.map(shq).join(' ')})` : undefined;
  });
  return `#compdef bookd
# zsh completion for bookd, generated by \`bookd completion zsh\` from its commands.
# Load it now with:  source <(bookd completion zsh)     (after compinit)
# or for good with:  bookd completion zsh > "\${fpath[1]}/_bookd"

# __bookd_spec PATH WHAT: sets __bookd_r to PATH's subcommands (cmds) or options (opts), as
# name:description, to the options that take a value (valopts), an option's values (value OPT) or
# a positional's (arg N); @file and @dir stand for paths.
__bookd_spec() {
  __bookd_r=()
  case "$1|$2" in
${arms.join('\n')}
  esac
}

__bookd_offer() {
  case \${__bookd_r[1]} in
    @file) _files ;;
    @dir) _files -/ ;;
    '') return 1 ;;
    *) compadd -a __bookd_r ;;
  esac
}

_bookd() {
  local cur=\${words[CURRENT]} cmdpath='' valueof='' w
  local -i i=2 j npos=0
  local -a __bookd_r names
  while (( i < CURRENT )); do
    w=\${words[i]}
    if [[ $w == -?* ]]; then
      __bookd_spec "$cmdpath" valopts
      if [[ $w != *=* ]] && (( \${__bookd_r[(Ie)$w]} )); then
        j=i+1
        if (( j >= CURRENT )); then valueof=$w; break; fi
        i=j
      fi
    else
      __bookd_spec "$cmdpath" cmds
      names=(\${__bookd_r%%:*})
      if (( \${names[(Ie)$w]} )); then cmdpath=\${cmdpath:+$cmdpath }$w; npos=0; else npos+=1; fi
    fi
    i+=1
  done
  if [[ -n $valueof ]]; then
    __bookd_spec "$cmdpath" "value $valueof"
    __bookd_offer
    return
  fi
  if [[ $cur == -* ]]; then
    __bookd_spec "$cmdpath" opts
    _describe -t options 'bookd option' __bookd_r
    return
  fi
  __bookd_spec "$cmdpath" cmds
  if (( $#__bookd_r )); then
    _describe -t commands 'bookd command' __bookd_r
    return
  fi
  __bookd_spec "$cmdpath" "arg $npos"
  __bookd_offer
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _bookd "$@"
else
  compdef _bookd bookd
fi
`;
}

function fishScript(root: CommandSpec): string {
  const specs = walk(root);
  const cases: string[] = [];
  for (const spec of specs) {
    const key = spec.path.join(' ');
    const cmds = spec.commands.map((c) => c.name);
    const valopts = valueOptions(spec);
    if (cmds.length > 0) cases.push(`        case ${fishq(`${key}|cmds`)}`, `            printf '%s\\n' ${cmds.map(fishq).join(' ')}`);
    if (valopts.length > 0) cases.push(`        case ${fishq(`${key}|valopts`)}`, `            printf '%s\\n' ${valopts.map(fishq).join(' ')}`);
  }
  const lines: string[] = [];
  const valueArgs = (hint: ValueHint): string => {
    switch (hint.kind) {
      case 'file':
        return '-r -F';
      case 'dir':
        return `-x -a ${fishq('(__fish_complete_directories)')}`;
      case 'words':
        return `-x -a ${fishq(hint.words.join(' '))}`;
      case 'none':
        return '-x';
    }
  };
  for (const spec of specs) {
    const at = `-n ${fishq(`__bookd_at ${fishq(spec.path.join(' '))}`)}`;
    for (const c of spec.commands) lines.push(`complete -c bookd ${at} -a ${fishq(c.name)} -d ${fishq(c.description)}`);
    for (const o of spec.options) {
      const names = o.names.map((n) => (n.startsWith('--') ? `-l ${fishq(n.slice(2))}` : `-s ${fishq(n.slice(1))}`)).join(' ');
      const value = o.takesValue ? ` ${valueArgs(o.value)}` : '';
      lines.push(`complete -c bookd ${at} ${names}${value} -d ${fishq(o.description)}`);
    }
    const first = spec.args[0];
    if (spec.commands.length === 0 && first && first.kind !== 'none') {
      const what = first.kind === 'file' ? '-F' : first.kind === 'dir' ? `-a ${fishq('(__fish_complete_directories)')}` : `-a ${fishq(first.words.join(' '))}`;
      lines.push(`complete -c bookd ${at} ${what}`);
    }
  }
  return `# fish completion for bookd, generated by \`bookd completion fish\` from its commands.
# Load it now with:  bookd completion fish | source
# or for good with:  bookd completion fish > ~/.config/fish/completions/bookd.fish

# __bookd_spec PATH WHAT: PATH's subcommands (cmds) or the options that take a value (valopts).
function __bookd_spec --argument-names cmdpath what
    switch "$cmdpath|$what"
${cases.join('\n')}
    end
end

# The command path typed so far, skipping options and the values they take.
function __bookd_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l cmdpath ''
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        if string match -q -- '-?*' $w
            if not string match -q -- '*=*' $w; and contains -- $w (__bookd_spec "$cmdpath" valopts)
                set skip 1
            end
        else if contains -- $w (__bookd_spec "$cmdpath" cmds)
            if test -z "$cmdpath"
                set cmdpath $w
            else
                set cmdpath "$cmdpath $w"
            end
        end
    end
    echo $cmdpath
end

function __bookd_at
    set -l here (__bookd_path)
    test "$here" = "$argv[1]"
end

complete -c bookd -f
${lines.join('\n')}
`;
}

/** The completion script for `shell`, from the program as it is now. */
export function completionScript(program: CommandUnknownOpts, shell: Shell): string {
  const root = buildSpec(program.createHelp(), program, [], []);
  switch (shell) {
    case 'bash':
      return bashScript(root);
    case 'zsh':
      return zshScript(root);
    case 'fish':
      return fishScript(root);
  }
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish) for every bookd command and option')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText('after', '\nbash:  source <(bookd completion bash)\nzsh:   source <(bookd completion zsh)\nfish:  bookd completion fish | source')
    .action((shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
