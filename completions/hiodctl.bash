# hiodctl(8) completion for bash                           -*- shell-script -*-
#
# Completes hiodctl's commands, the global options (anywhere on the line), each
# command's own options after the command, option values (vIOMMU models, backends,
# QEMU releases, on|off properties, granules, machine types) and PCI devices read live
# from ${SYSROOT}/sys/bus/pci/devices, honouring a --sysroot DIR already on the line, or
# from the snapshot of a --host FILE on it (its devices, not the live host's).
# caps and check offer the devices bound to a VFIO driver (all devices when none is).
#
# Install: copy to /usr/share/bash-completion/completions/hiodctl (or, for one user,
# ~/.local/share/bash-completion/completions/hiodctl). Works with and without the
# bash-completion package; to try it in the current shell: source hiodctl.bash
#
# Kept in step with Sources/hiodctl/CLI/OptionTable.swift by
# Tests/hiodctlTests/CompletionTests.swift.
#
# SPDX-License-Identifier: GPL-2.0-or-later

# Sets the caller's `opts` to the options that take a value after the command $1
# ("" before the command): the globals, then the command's own.
_hiodctl_value_options()
{
	opts='--sysroot --host'
	case $1 in
		list) opts+=' -s --slot -d --id' ;;
		caps) opts+=' --backend' ;;
		check)
			opts+=' --viommu --domain --qemu --machine --backend --aw-bits --caching-mode'
			opts+=' --x-scalable-mode --scalable-mode --fs1gp --pasid-bits --granule --oas'
			opts+=' --ssidsize --ril --ats --dma-remap'
			;;
		snapshot) opts+=' -o --output' ;;
		export) opts+=' --format -o --output --backend' ;;
	esac
}

# Sets the caller's `opts` to every option valid after the command $1 ("" before it):
# the ones taking a value, then the flags.
_hiodctl_options()
{
	_hiodctl_value_options "$1"
	opts+=' --json -n --numeric -h --help --version'
	case $1 in
		list) opts+=' --vfio' ;;
		caps | export) opts+=' --force' ;;
		check) opts+=' --force --all --suggest -q --quiet --x-flts --fsts --accel' ;;
		host) opts+=' -q --quiet' ;;
		snapshot) opts+=' --iommufd --force' ;;
	esac
}

# Whether $2 is an option taking a value after the command $1.
_hiodctl_takes_value()
{
	local opts
	_hiodctl_value_options "$1"
	[[ " $opts " == *" $2 "* ]]
}

# Rebuilds the command line as hiodctl sees it: bash splits COMP_WORDS at ':' and '='
# (COMP_WORDBREAKS), which cuts BDFs (0000:01:00.0) and --opt=value apart. Sets the
# caller's `words`, `cword` and `cur` (the current word up to the cursor).
_hiodctl_reassemble()
{
	local line=$COMP_LINE w
	local -i i pos=0 spaced start cstart=-1
	words=() cword=0 cur=
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		spaced=0
		if [[ -n $w ]]; then
			while [[ ${line:pos:1} == [[:space:]] ]]; do
				pos+=1
				spaced=1
			done
		fi
		if ((i > 0 && !spaced)) && [[ -n $w ]] &&
			[[ $w == [=:]* || ${COMP_WORDS[i - 1]} == *[=:] ]]; then
			words[${#words[@]} - 1]+=$w
		else
			words+=("$w")
			start=$pos
		fi
		if ((i == COMP_CWORD)); then
			cword=${#words[@]}-1
			if [[ -n $w ]]; then
				cstart=$start
			fi
		fi
		if [[ ${line:pos:${#w}} == "$w" ]]; then
			pos+=${#w}
		fi
	done
	# Only the part before the cursor is being completed.
	if ((cstart >= 0)); then
		cur=${words[cword]}
		if ((COMP_POINT >= cstart && COMP_POINT - cstart < ${#cur})); then
			cur=${line:cstart:COMP_POINT-cstart}
		fi
	fi
}

# PCI devices under ${root}/sys/bus/pci/devices, one a line. $1: "vfio" prefers the
# devices bound to a VFIO driver (vfio-pci or a variant driver), falling back to every
# device; "all" gives every device; "ids" gives their vendor:device pairs. With a
# --host snapshot on the line, its devices instead (from its "list" document: pretty
# JSON with sorted keys, so each device's "bdf" and IDs come before its "vfio_bound").
_hiodctl_devices()
{
	local dir=${root%/}/sys/bus/pci/devices d vendor device target line bdf=
	local -a all=() links=() vfio=()
	local -A ids=()
	local -i i=0
	if [[ -n $snapshot ]]; then
		[[ -r $snapshot && ! -d $snapshot ]] || return 0
		while IFS= read -r line; do
			case $line in
				*'"bdf" : "'*) bdf=${line#*'"bdf" : "'} bdf=${bdf%%\"*} ;;
				*'"device_id" : "'*) device=${line#*'"device_id" : "'} device=${device%%\"*} ;;
				*'"vendor_id" : "'*) vendor=${line#*'"vendor_id" : "'} vendor=${vendor%%\"*} ;;
				*'"vfio_bound" : '*)
					[[ -n $bdf ]] || continue
					all+=("$bdf")
					[[ $line == *'"vfio_bound" : true'* ]] && vfio+=("$bdf")
					[[ -n $vendor && -n $device ]] && ids[$vendor:$device]=1
					bdf= vendor= device=
					;;
			esac
		done <"$snapshot"
		case $1 in
			all) ((${#all[@]})) && printf '%s\n' "${all[@]}" ;;
			ids) ((${#ids[@]})) && printf '%s\n' "${!ids[@]}" ;;
			vfio) ((${#vfio[@]})) && printf '%s\n' "${vfio[@]}" || { ((${#all[@]})) && printf '%s\n' "${all[@]}"; } ;;
		esac
		return 0
	fi
	for d in "$dir"/*; do
		[[ -e $d || -L $d ]] || continue
		all+=("${d##*/}")
		[[ -L $d/driver ]] && links+=("$d/driver")
		if [[ $1 == ids ]] && { read -r vendor <"$d/vendor" && read -r device <"$d/device"; } 2>/dev/null; then
			ids[${vendor#0x}:${device#0x}]=1
		fi
	done
	case $1 in
		all) ((${#all[@]})) && printf '%s\n' "${all[@]}" ;;
		ids) ((${#ids[@]})) && printf '%s\n' "${!ids[@]}" ;;
		vfio)
			if ((${#links[@]})); then
				# One readlink for every device; the driver is the link's basename.
				while IFS= read -r target; do
					if [[ ${target##*/} == *vfio* ]]; then
						d=${links[i]%/driver}
						vfio+=("${d##*/}")
					fi
					i+=1
				done < <(readlink -- "${links[@]}" 2>/dev/null)
			fi
			if ((${#vfio[@]})); then
				printf '%s\n' "${vfio[@]}"
			elif ((${#all[@]})); then
				printf '%s\n' "${all[@]}"
			fi
			;;
	esac
	return 0
}

# Sets COMPREPLY to the words of $1 (one a line) that start with $cur; with $2 "bdf",
# `01:00.0` also matches 0000:01:00.0 (hiodctl accepts the short form).
_hiodctl_words()
{
	local w
	local -a short=()
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
	if ((${#COMPREPLY[@]} == 0)) && [[ -n $cur && $2 == bdf ]]; then
		for w in $1; do
			[[ $w == 0000:* ]] && short+=("${w#0000:}")
		done
		((${#short[@]})) && mapfile -t COMPREPLY < <(compgen -W "${short[*]}" -- "$cur")
	fi
	return 0
}

# Files or directories: bash-completion's _filedir when loaded, else compgen.
# $1: -d for directories, an extension (json) for those files and directories, or
# nothing for any file.
_hiodctl_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
		return
	fi
	compopt -o filenames 2>/dev/null
	case $1 in
		-d) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
		'') mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		*) mapfile -t COMPREPLY < <(compgen -f -X "!*.$1" -- "$cur"; compgen -d -- "$cur") ;;
	esac
}

# The value of option $prev for command $cmd, into COMPREPLY.
_hiodctl_value()
{
	case $prev in
		--sysroot)
			_hiodctl_files -d
			;;
		--host)
			_hiodctl_files json
			;;
		--domain)
			_hiodctl_files xml
			;;
		-o|--output)
			_hiodctl_files
			;;
		-s|--slot)
			_hiodctl_words "$(_hiodctl_devices all)" bdf
			;;
		-d|--id)
			_hiodctl_words "$(_hiodctl_devices ids)"
			;;
		--backend)
			_hiodctl_words 'auto legacy iommufd sysfs'
			;;
		--viommu)
			_hiodctl_words 'intel virtio smmuv3 amd none'
			;;
		--qemu)
			# The releases this hiodctl knows, from its own table.
			_hiodctl_words "$(command hiodctl check --qemu help 2>/dev/null)"
			;;
		--machine)
			_hiodctl_words 'q35 pc-q35-9.1 pc-q35-10.0 pc-i440fx-10.0 virt virt-10.0'
			;;
		--caching-mode|--x-scalable-mode|--scalable-mode|--fs1gp|--ril|--ats|--dma-remap)
			_hiodctl_words 'on off'
			;;
		--granule)
			_hiodctl_words '4k 8k 16k 64k host'
			;;
		--aw-bits)
			_hiodctl_words '39 48'
			;;
		--oas)
			_hiodctl_words '44 48'
			;;
		--format)
			_hiodctl_words 'nfd prometheus ansible'
			;;
		--ssidsize|--pasid-bits)
			# A number (0-20); nothing to offer.
			COMPREPLY=()
			;;
	esac
}

_hiodctl_complete()
{
	local -a words=()
	local cword prev= cmd= root= snapshot= expect= w rest letter opts
	local -i i ddash=0 all=0
	_hiodctl_reassemble

	# Walk the words before the cursor as hiodctl's parser does: global options
	# anywhere, the first bare word is the command, `--` ends the options.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -n $expect ]]; then
			[[ $expect == --sysroot ]] && root=$w
			[[ $expect == --host && -z $snapshot ]] && snapshot=$w
			expect=
			continue
		fi
		if ((ddash)) || [[ $w != -* || $w == - ]]; then
			[[ -z $cmd ]] && cmd=$w
			continue
		fi
		case $w in
			--)
				ddash=1
				;;
			--sysroot=*)
				root=${w#*=}
				;;
			--host=*)
				[[ -z $snapshot ]] && snapshot=${w#*=}
				;;
			--*=*)
				;;
			--*)
				[[ $w == --all ]] && all=1
				_hiodctl_takes_value "$cmd" "$w" && expect=$w
				;;
			-*)
				# A cluster of short flags; a value-taking letter ends it, its value
				# attached (-s00:02.0) or in the next word.
				rest=${w#-}
				while [[ -n $rest ]]; do
					letter=${rest:0:1}
					rest=${rest:1}
					if _hiodctl_takes_value "$cmd" "-$letter"; then
						[[ -z $rest ]] && expect=-$letter
						break
					fi
				done
				;;
		esac
	done

	# --sysroot's value as the shell would pass it: unquoted, ~ expanded.
	case $root in
		\'*\') root=${root:1:${#root}-2} ;;
		\"*\") root=${root:1:${#root}-2} ;;
		*) root=${root//\\/} ;;
	esac
	[[ $root == \~/* || $root == \~ ]] && root=$HOME${root#\~}
	[[ -z $root ]] && root=/
	# The first --host snapshot, unquoted likewise (- is standard input: nothing to offer).
	case $snapshot in
		\'*\') snapshot=${snapshot:1:${#snapshot}-2} ;;
		\"*\") snapshot=${snapshot:1:${#snapshot}-2} ;;
		*) snapshot=${snapshot//\\/} ;;
	esac
	[[ $snapshot == \~/* ]] && snapshot=$HOME${snapshot#\~}

	if [[ -n $expect ]]; then
		prev=$expect
		_hiodctl_value
		return
	fi
	if ((!ddash)) && [[ $cur == --*=* ]]; then
		# --opt=value: complete the value, then answer with whole words; _hiodctl
		# trims them to what readline replaces.
		local word=$cur
		prev=${cur%%=*}
		cur=${cur#*=}
		_hiodctl_value
		COMPREPLY=("${COMPREPLY[@]/#/$prev=}")
		cur=$word
		return
	fi
	if ((!ddash)) && [[ $cur == -* ]]; then
		_hiodctl_options "$cmd"
		_hiodctl_words "$opts"
		return
	fi

	case $cmd in
		'')
			_hiodctl_words 'list caps check host snapshot export'
			;;
		caps)
			_hiodctl_words "$(_hiodctl_devices vfio)" bdf
			;;
		check)
			if ((!all)); then
				_hiodctl_words "$(_hiodctl_devices vfio)" bdf
			elif ((!ddash)); then
				# --all and BDFs exclude each other: offer the options instead.
				_hiodctl_options "$cmd"
				_hiodctl_words "$opts"
			fi
			;;
		list|host|snapshot|export)
			# No arguments: offer the options (unless after `--`).
			if ((!ddash)); then
				_hiodctl_options "$cmd"
				_hiodctl_words "$opts"
			fi
			;;
	esac
}

_hiodctl()
{
	COMPREPLY=()
	# Shell-state hygiene: the user's glob options and IFS must not change what is
	# listed, and must be as they were afterwards.
	local _hiodctl_shopt IFS=$' \t\n'
	_hiodctl_shopt=$(shopt -p nullglob failglob nocaseglob dotglob extglob)
	shopt -u nullglob failglob nocaseglob dotglob
	shopt -s extglob # bash-completion's _filedir needs it

	local cur
	_hiodctl_complete

	# Readline replaces only the text after the last ':' or '=' of COMP_WORDBREAKS
	# in the word; drop what comes before it from each candidate.
	local k c prefix=
	for ((k = ${#cur} - 1; k >= 0; k--)); do
		c=${cur:k:1}
		if [[ ($c == : || $c == =) && ${COMP_WORDBREAKS-} == *"$c"* ]]; then
			prefix=${cur:0:k+1}
			break
		fi
	done
	if [[ -n $prefix ]] && ((${#COMPREPLY[@]})); then
		COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
	fi

	eval "$_hiodctl_shopt"
	return 0
}

complete -F _hiodctl hiodctl

# ex: filetype=sh
