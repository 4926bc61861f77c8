# SPDX-License-Identifier: GPL-2.0
# bash completion for kechoctl(8)

_kechoctl()
{
	local cur prev words cword i cmd=
	_init_completion || return

	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $cmd in
	"")
		mapfile -t COMPREPLY < <(compgen -W '-j -h add del list conns apply' -- "$cur") ;;
	add)
		case $prev in
		service)
			# The services are the modules that use ksrv.
			mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/module/ksrv/holders 2>/dev/null)" -- "$cur") ;;
		tcp | udp | addr | backlog | max_conns | idle_timeout) ;;
		*)
			mapfile -t COMPREPLY < <(compgen -W 'service tcp udp addr backlog max_conns idle_timeout' -- "$cur") ;;
		esac ;;
	del | conns)
		[ "$prev" = "$cmd" ] &&
			mapfile -t COMPREPLY < <(compgen -W "$(kechoctl -j list 2>/dev/null |
				sed -n 's/^{"id":\([0-9]*\).*/\1/p')" -- "$cur") ;;
	apply)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W '-n' -- "$cur")
		else
			_filedir
		fi ;;
	esac
} &&
	complete -F _kechoctl kechoctl
