# zsh -f complete.zsh SCRIPT LINE...: types each LINE into an interactive
# zsh that has loaded the completion SCRIPT (sourced, or from $fpath if
# SCRIPT is a directory holding it as _netcost), presses Tab, and prints one
# line per LINE with what the completion offered, each match as <match>
# (compadd is wrapped to print the matches it is given).
zmodload zsh/zpty
zpty z zsh -f -i
if [[ -d $1 ]]; then # a directory with _netcost, for $fpath
	zpty -w z "PROMPT='%% '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
else
	zpty -w z "PROMPT='%% '; autoload -Uz compinit; compinit -u -D; source ${(q)1}"
fi
zpty -w z 'compadd() { local -a m; builtin compadd -O m "$@"; (( $#m )) && print -rn -- "<${(j:><:)m}>" }'
# Tab completes, then says it is done: keys typed while completion runs
# would cut it short.
zpty -w z 'complete-then-say() { zle complete-word; print -rn -- "<TAB$((6*7))>" }; zle -N complete-then-say; bindkey "^I" complete-then-say'
zpty -w z "print READY-\$((6*7))"
zpty -r z out '*READY-42*' || exit 3
shift
integer i=0
for line; do
	i+=1
	zpty -w -n z "$line"$'\t'
	zpty -r z out '*<TAB42>*' || exit 5
	print -rn -- "${out//[$'\r\n']/}"
	zpty -w -n z $'\C-e\C-u'"print DONE-\$(($i*1000))"$'\n'
	zpty -r z out "*DONE-$((i*1000))*" || exit 4
	print -r -- "${out//[$'\r\n']/}"
done
zpty -d z
