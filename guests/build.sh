#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# guests/build.sh - a bootable Linux guest for vcts: Debian's kernel as an
# uncompressed vmlinux plus an initramfs (busybox, /init, the virtio modules,
# the in-guest agent).
#
#   guests/build.sh [--kernel VERSION] [--agent PATH] [--out DIR]
#                   [--cache DIR] [--list-kernels]
#
# The kernel package (linux-image-VERSION) is fetched with apt-get download
# (no root needed) and reduced to what a guest needs, kept per version in
# CACHE/guests/VERSION/: vmlinux, System.map, config, the virtio modules with
# their modules.dep, and a stamp written last.  The initramfs goes to
# OUT/initramfs.cpio.gz and is rebuilt when the agent, /init, the cached
# kernel or this script change.
#
# The secure-guest module (guests/secure/vcts_secure.ko) is built against
# Debian's linux-headers-VERSION, fetched the same way, and kept in
# CACHE/guests/secure/VERSION/; /init loads it when vcts.secure=1.
#
# stdout: three lines on success, "vmlinux=PATH", "initrd=PATH" and
# "secure=PATH" (or "secure=none": the headers could not be downloaded).
# stderr: progress and errors.
# Exit: 0 built (or cached), 1 failed, 2 cannot build here (kernel version
# unknown to apt or not downloadable, a needed tool missing).
set -euo pipefail
shopt -s inherit_errexit

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRCDIR

# Loaded by /init in this order (modprobe pulls in anything else listed in
# modules.dep).  Changing the list rebuilds the kernel cache.
readonly MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
		  virtio_pci virtio_mmio failover net_failover virtio_net
		  virtio_blk virtio_console virtio-rng virtio_balloon)

# Bump when the layout of the kernel cache changes.
readonly CACHE_FORMAT=1

# Bump when the layout of the secure-module cache changes.
readonly SECURE_FORMAT=1

kernel=
agent=
out=
cache=
list_only=0

log() {
	printf 'guests/build.sh: %s\n' "$*" >&2
}

die() {
	log "$*"
	exit 1
}

# Not a failure of the build: this machine cannot do it (a later SKIP).
cannot() {
	log "$*"
	exit 2
}

usage() {
	cat >&2 <<'EOF'
usage: guests/build.sh [--kernel VERSION] [--agent PATH] [--out DIR]
                       [--cache DIR] [--list-kernels]
  --kernel VERSION  Debian kernel ABI, e.g. 6.1.0-56-amd64 (default: the one
                    linux-image-amd64 depends on)
  --agent PATH      static in-guest agent (default: build/guests/agent)
  --out DIR         where the initramfs goes (default: build/guests/VERSION)
  --cache DIR       kernel cache base (default: ${VCTS_CACHE:-~/.cache/vcts})
  --list-kernels    print the linux-image-6.1.0-*-amd64 versions apt can
                    download, one per line, and exit
EOF
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel | --agent | --out | --cache)
			[ $# -ge 2 ] || { usage; die "$1 needs a value"; }
			case $1 in
			--kernel) kernel=$2 ;;
			--agent) agent=$2 ;;
			--out) out=$2 ;;
			--cache) cache=$2 ;;
			esac
			shift 2
			;;
		--kernel=* | --agent=* | --out=* | --cache=*)
			set -- "${1%%=*}" "${1#*=}" "${@:2}"
			;;
		--list-kernels)
			list_only=1
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		*)
			usage
			die "unknown argument: $1"
			;;
		esac
	done
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			cannot "needs '$t' (run: make deps)"
	done
}

# True when apt has a downloadable linux-image-VERSION.
apt_has_kernel() {
	local madison
	madison=$(apt-cache madison "linux-image-$1" 2>/dev/null) || return 1
	[ -n "$madison" ]
}

list_kernels() {
	local names pkg
	local -a cands=()
	need_tools apt-cache
	names=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null) || true
	while read -r pkg; do
		if [[ $pkg =~ ^linux-image-6\.1\.0-[0-9]+-amd64$ ]]; then
			cands+=("$pkg")
		fi
	done <<<"$names"
	[ ${#cands[@]} -gt 0 ] || return 0
	# One madison call for all: it lists only versions apt can download.
	apt-cache madison "${cands[@]}" 2>/dev/null |
		while read -r pkg _; do echo "${pkg#linux-image-}"; done | sort -uV
}

# The ABI linux-image-amd64 depends on, e.g. 6.1.0-56-amd64.
default_kernel() {
	local deps line
	deps=$(apt-cache depends linux-image-amd64 2>/dev/null) ||
		cannot "apt knows no linux-image-amd64 (apt-get update?); give --kernel"
	while read -r line; do
		if [[ $line =~ ^Depends:\ linux-image-([0-9][^ ]*)$ ]]; then
			echo "${BASH_REMATCH[1]}"
			return 0
		fi
	done <<<"$deps"
	cannot "cannot tell which kernel linux-image-amd64 depends on; give --kernel"
}

# apt-cache takes ~0.5 s where apt keeps no binary cache, so the answer is
# remembered until the package lists change (apt-get update touches them).
remembered_default_kernel() {
	local memo=$1 lists=/var/lib/apt/lists stamp line
	stamp=$(stat -c %Y "$lists" 2>/dev/null) || { default_kernel; return; }
	if [ -f "$memo" ]; then
		read -r line <"$memo" || true
		if [ "${line%% *}" = "$stamp" ] && [ -n "${line#* }" ]; then
			echo "${line#* }"
			return 0
		fi
	fi
	line=$(default_kernel) || exit
	echo "$stamp $line" >"$memo.$$" && mv "$memo.$$" "$memo"
	echo "$line"
}

# Hold an exclusive lock on FILE for the rest of the script.
lock() {
	local fd
	exec {fd}>"$1"
	if ! flock -n "$fd"; then
		log "waiting for $1 (another build holds it)"
		flock "$fd"
	fi
}

# ---------------------------------------------------------------- kernel cache

# What the stamp of a complete cache directory says: the format, the module
# list, then every file with its size.  Comparing it costs one find.
cache_manifest() {
	local dir=$1
	echo "format $CACHE_FORMAT"
	echo "kernel $kernel"
	echo "modules ${MODULES[*]}"
	(cd "$dir" && find . -type f ! -name stamp -printf 'file %P %s\n' | LC_ALL=C sort)
}

cache_valid() {
	local dir=$1
	[ -f "$dir/stamp" ] || return 1
	elf_complete "$dir/vmlinux" || return 1
	[ "$(cache_manifest "$dir")" = "$(cat "$dir/stamp")" ]
}

# Unsigned little-endian integer of LEN bytes at OFFSET in FILE.
le_uint() {
	local hex
	hex=$(od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n')
	local i val=
	for ((i = ${#hex} - 2; i >= 0; i -= 2)); do
		val+=${hex:i:2}
	done
	echo $((16#${val:-0}))
}

# A whole 64-bit ELF file: the magic, and the section header table (the
# last thing in a vmlinux) inside the file.
elf_complete() {
	local f=$1 size shoff shentsize shnum
	[ -s "$f" ] || return 1
	[ "$(od -An -tx1 -N 5 "$f" | tr -d ' \n')" = 7f454c4602 ] || return 1
	size=$(stat -c %s "$f")
	shoff=$(le_uint "$f" 40 8)
	shentsize=$(le_uint "$f" 58 2)
	shnum=$(le_uint "$f" 60 2)
	[ "$shoff" -gt 0 ] && [ $((shoff + shentsize * shnum)) -le "$size" ]
}

# Byte offsets of every occurrence of a magic (given as a grep -P pattern).
magic_offsets() {
	LC_ALL=C grep -obUaP "$2" "$1" | cut -d: -f1 || true
}

# vmlinux is the ELF image compressed inside the bzImage: xz for the generic
# kernel, LZ4 (legacy frame) for the cloud kernel.  The first candidate that
# decompresses into a whole ELF file wins.
extract_vmlinux() {
	local bz=$1 dst=$2 off
	local -a offs
	mapfile -t offs < <(magic_offsets "$bz" '\xfd7zXZ\x00')
	for off in "${offs[@]}"; do
		# xz checks the stream's integrity and stops at its end.
		if xz -dc --single-stream <(tail -c +$((off + 1)) "$bz") \
			>"$dst" 2>/dev/null && elf_complete "$dst"; then
			return 0
		fi
	done
	mapfile -t offs < <(magic_offsets "$bz" '\x02\x21\x4c\x18')
	for off in "${offs[@]}"; do
		need_tools lz4
		# The legacy frame has no end marker: lz4 complains about what
		# follows the payload, the payload is complete.
		tail -c +$((off + 1)) "$bz" | lz4 -dc >"$dst" 2>/dev/null || true
		if elf_complete "$dst"; then
			return 0
		fi
	done
	rm -f "$dst"
	return 1
}

# Fills the associative array modpath: module name (with '_') -> file
# relative to the module directory.
declare -A modpath
index_modules() {
	local moddir=$1 rel name
	while read -r rel; do
		name=${rel##*/}
		name=${name%%.ko*}
		modpath[${name//-/_}]=$rel
	done < <(cd "$moddir" && find kernel -name '*.ko' -o -name '*.ko.xz')
}

# The listed modules plus, recursively, what they depend on.  Modules built
# into the kernel are skipped; a module that is neither is an error.
declare -A wanted
want_module() {
	local moddir=$1 name=${2//-/_} dep deps
	[ -z "${wanted[$name]:-}" ] || return 0
	if [ -z "${modpath[$name]:-}" ]; then
		grep -q "/${name}.ko\$" <(tr - _ <"$moddir/modules.builtin") &&
			return 0
		die "kernel $kernel has no module $2"
	fi
	wanted[$name]=${modpath[$name]}
	deps=$(modinfo -F depends "$moddir/${modpath[$name]}")
	for dep in ${deps//,/ }; do
		want_module "$moddir" "$dep"
	done
}

# Copies the wanted modules (decompressed: busybox modprobe wants plain .ko)
# and the module metadata, then runs depmod.
install_modules() {
	local from=$1 base=$2 to rel f
	to=$base/lib/modules/$kernel
	mkdir -p "$to"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ ! -f "$from/$f" ] || cp "$from/$f" "$to/"
	done
	index_modules "$from"
	for f in "${MODULES[@]}"; do
		want_module "$from" "$f"
	done
	for rel in "${wanted[@]}"; do
		mkdir -p "$to/$(dirname "$rel")"
		case $rel in
		*.ko.xz) xz -dc "$from/$rel" >"$to/${rel%.xz}" ;;
		*) cp "$from/$rel" "$to/$rel" ;;
		esac
	done
	depmod -b "$base" "$kernel"
}

fetch_kernel() {
	local tmp=$1 deb
	local -a opts=(-q)
	# As root apt hands the download to user _apt, who cannot write into
	# a private temporary directory.
	[ "$(id -u)" -ne 0 ] || opts+=(-o APT::Sandbox::User=root)
	log "downloading linux-image-$kernel"
	(cd "$tmp" && apt-get "${opts[@]}" download "linux-image-$kernel") >&2 ||
		cannot "apt-get download linux-image-$kernel failed"
	deb=$(echo "$tmp"/linux-image-*.deb)
	[ -f "$deb" ] || cannot "apt-get download left no .deb for $kernel"
	log "unpacking $(basename "$deb")"
	dpkg -x "$deb" "$tmp/pkg"
	rm -f "$deb"
}

build_cache() {
	local dir=$1 tmp stage pkg manifest
	need_tools apt-get apt-cache dpkg dpkg-deb depmod modinfo xz
	apt_has_kernel "$kernel" ||
		cannot "apt cannot download linux-image-$kernel (see --list-kernels)"
	tmp=$(mktemp -d "$(dirname "$dir")/.tmp-$kernel.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	fetch_kernel "$tmp"
	pkg=$tmp/pkg
	stage=$tmp/stage
	mkdir -p "$stage"
	[ -f "$pkg/boot/vmlinuz-$kernel" ] || die "package has no boot/vmlinuz-$kernel"
	log "extracting vmlinux"
	extract_vmlinux "$pkg/boot/vmlinuz-$kernel" "$stage/vmlinux" ||
		die "no xz or LZ4 payload in vmlinuz-$kernel decompresses to an ELF vmlinux"
	cp "$pkg/boot/System.map-$kernel" "$stage/System.map"
	cp "$pkg/boot/config-$kernel" "$stage/config"
	install_modules "$pkg/lib/modules/$kernel" "$stage"
	rm -rf "$dir"
	mv "$stage" "$dir"
	# Written last: a directory without a matching stamp is rebuilt.
	manifest=$(cache_manifest "$dir")
	echo "$manifest" >"$dir/stamp.new"
	mv "$dir/stamp.new" "$dir/stamp"
	rm -rf "$tmp"
	trap - EXIT
}

# ------------------------------------------------------- secure-guest module

# guests/secure/vcts_secure.ko makes the guest refuse virtio devices the way
# a secure (SEV) guest does.  It is built against Debian's headers for the
# same ABI, fetched with apt-get download and used from where dpkg -x put
# them: nothing is installed.  Kept in CACHE/guests/secure/VERSION/ with its
# own stamp, so a change to the module does not refetch the kernel.

# What the stamp of a complete module directory says: the format, the
# kernel, the hash of the module's sources, then every file with its size.
secure_manifest() {
	local dir=$1
	echo "format $SECURE_FORMAT"
	echo "kernel $kernel"
	echo "source $(cat "$SRCDIR"/guests/secure/* | sha256sum | cut -d' ' -f1)"
	(cd "$dir" && find . -type f ! -name stamp -printf 'file %P %s\n' | LC_ALL=C sort)
}

secure_valid() {
	[ -f "$1/stamp" ] && [ -s "$1/vcts_secure.ko" ] &&
		[ "$(secure_manifest "$1")" = "$(cat "$1/stamp")" ]
}

# apt-get download into the current directory, quietly.
apt_download() {
	local -a opts=(-q)
	[ "$(id -u)" -ne 0 ] || opts+=(-o APT::Sandbox::User=root)
	apt-get "${opts[@]}" download "$@" >&2
}

# linux-headers-VERSION, then exactly the versions of the packages it
# depends on (at the version it names) that hold the build tree: linux-headers-*-common (the kernel's
# own headers and Makefile) and linux-kbuild-* (the host programs: fixdep,
# modpost, genksyms).  All three are unpacked under DIR/root.
fetch_headers() {
	local tmp=$1 deb dep name ver
	local -a more=()
	log "downloading linux-headers-$kernel"
	(cd "$tmp" && apt_download "linux-headers-$kernel") ||
		cannot "apt-get download linux-headers-$kernel failed"
	deb=$(echo "$tmp"/linux-headers-"$kernel"_*.deb)
	[ -f "$deb" ] || cannot "apt-get download left no .deb for linux-headers-$kernel"
	while read -r dep; do
		if [[ $dep =~ ^(linux-headers-[^ ]*-common|linux-kbuild-[^ ]*)\ \((=|>=)\ ([^ ]*)\)$ ]]; then
			name=${BASH_REMATCH[1]}
			ver=${BASH_REMATCH[3]}
			more+=("$name=$ver")
		fi
	done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//')
	[ ${#more[@]} -eq 2 ] ||
		die "linux-headers-$kernel: expected a -common and a kbuild dependency, got: ${more[*]:-none}"
	log "downloading ${more[*]}"
	(cd "$tmp" && apt_download "${more[@]}") ||
		cannot "apt-get download ${more[*]} failed"
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$tmp/root"
		rm -f "$deb"
	done
}

# The headers' Makefile includes the -common tree by its absolute path
# under /usr/src; point it into the unpacked copy.  Every other link in the
# packages is relative and works where it was unpacked.
relocate_headers() {
	local root=$1 mk=$1/usr/src/linux-headers-$kernel/Makefile
	[ -f "$mk" ] || die "linux-headers-$kernel has no Makefile"
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"
	grep -q "^include $root/usr/src/linux-headers-.*-common/Makefile\$" "$mk" ||
		die "linux-headers-$kernel: unexpected Makefile, cannot relocate it"
}

# The kernel's Kbuild with the compiler the kernel was built with (the
# headers name it: gcc-12 for bookworm), out of tree in a scratch copy of
# guests/secure/.  The result loses its debug info: it goes into the
# initramfs.
build_secure() {
	local dir=$1 tmp kdir cc manifest
	need_tools apt-get dpkg dpkg-deb make strip
	tmp=$(mktemp -d "$(dirname "$dir")/.tmp-$kernel.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	fetch_headers "$tmp"
	relocate_headers "$tmp/root"
	kdir=$tmp/root/usr/src/linux-headers-$kernel
	cc=$(sed -n 's/^CC = .*(CROSS_COMPILE)\([^ ]*\)$/\1/p' "$kdir/.kernelvariables")
	need_tools "${cc:-gcc}"
	mkdir -p "$tmp/mod" "$tmp/out"
	cp "$SRCDIR"/guests/secure/* "$tmp/mod/"
	log "building vcts_secure.ko with ${cc:-gcc}"
	make -s -C "$kdir" M="$tmp/mod" modules >&2 ||
		die "building guests/secure/vcts_secure.ko failed"
	strip --strip-debug -o "$tmp/out/vcts_secure.ko" "$tmp/mod/vcts_secure.ko"
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	manifest=$(secure_manifest "$dir")
	echo "$manifest" >"$dir/stamp.new"
	mv "$dir/stamp.new" "$dir/stamp"
	rm -rf "$tmp"
	trap - EXIT
}

# Sets skdir to the cached module directory, or to "" when this machine
# cannot build it (then the guest has no secure mode; everything else
# works).  A failed download is remembered until apt's lists change, so a
# machine without the headers does not retry on every run.
prepare_secure() {
	local dir=$1 lists rc=0 line
	skdir=
	lists=$(stat -c %Y /var/lib/apt/lists 2>/dev/null) || lists=unknown
	if secure_valid "$dir"; then
		log "vcts_secure.ko: cached in $dir"
		skdir=$dir
		return 0
	fi
	if [ -f "$dir.unavailable" ]; then
		read -r line <"$dir.unavailable" || true
		if [ "$line" = "$lists" ]; then
			log "vcts_secure.ko: cannot be built here (remembered); no secure guests"
			return 0
		fi
	fi
	mkdir -p "$(dirname "$dir")"
	# In a child, so that a download this machine cannot do (exit 2)
	# leaves the rest of the guest intact.
	build_secure "$dir" &
	wait $! || rc=$?
	case $rc in
	0)
		rm -f "$dir.unavailable"
		log "vcts_secure.ko: built in $dir"
		skdir=$dir
		;;
	2)
		echo "$lists" >"$dir.unavailable"
		log "vcts_secure.ko: cannot be built here; no secure guests"
		;;
	*) exit "$rc" ;;
	esac
}

# ------------------------------------------------------------------ initramfs

# One newc header plus the NUL-padded name, for an entry without data.
newc_entry() {
	local name=$1 mode=$2 major=$3 minor=$4 ino=$5 namesize pad
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$mode" 0 0 1 0 0 0 0 "$major" "$minor" "$namesize" 0
	printf '%s' "$name"
	# header (110 bytes) + name + NUL, padded to a multiple of 4
	pad=$(((4 - (110 + namesize) % 4) % 4 + 1))
	head -c "$pad" /dev/zero
}

# A second archive, appended to the first, with /dev/console (char 5:1): the
# kernel opens it for /init's stdio before devtmpfs is mounted.  Written by
# hand so that no mknod (and no root) is needed.
console_archive() {
	newc_entry dev/console $((8#020600)) 5 1 1
	newc_entry 'TRAILER!!!' 0 0 0 0
}

# The inputs of the initramfs, hashed: a change in any of them rebuilds it.
initramfs_key() {
	local busybox=$1 f
	for f in "$agent" "$SRCDIR/guests/init" "$busybox" "${BASH_SOURCE[0]}" \
		"$kcache/stamp" ${skdir:+"$skdir/stamp"}; do
		sha256sum <"$f"
	done | sha256sum | cut -d' ' -f1
}

stage_initramfs() {
	local root=$1 busybox=$2 applet
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	while read -r applet; do
		[ "$applet" != linuxrc ] || continue
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done < <("$busybox" --list-full)
	cp "$SRCDIR/guests/init" "$root/init"
	cp "$agent" "$root/vcts-agent"
	chmod 0755 "$root/init" "$root/vcts-agent"
	printf '%s\n' "${MODULES[@]}" >"$root/etc/vcts-modules"
	cp -R "$kcache/lib/modules/$kernel" "$root/lib/modules/"
	# Loaded by /init before any virtio module when vcts.secure=1.
	if [ -n "$skdir" ]; then
		mkdir -p "$root/lib/vcts"
		cp "$skdir/vcts_secure.ko" "$root/lib/vcts/"
	fi
	# Fixed times: the same inputs give the same archive.
	find "$root" -exec touch -h -d @0 {} +
}

build_initramfs() {
	local dst=$1 busybox=$2 tmp
	tmp=$(mktemp -d "$out/.tmp-initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	stage_initramfs "$tmp/root" "$busybox"
	{
		(cd "$tmp/root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --reproducible --quiet)
		console_archive
	} | gzip -n -6 >"$tmp/initramfs.cpio.gz"
	mv "$tmp/initramfs.cpio.gz" "$dst"
	rm -rf "$tmp"
	trap - EXIT
}

# True for an ELF program that needs shared libraries (ldd lists them with
# "=>"; static and static-pie programs and scripts list none).
is_dynamic() {
	local libs
	libs=$(ldd "$1" 2>&1 || true)
	[[ $libs == *"=>"* ]]
}

check_agent() {
	[ -f "$agent" ] ||
		die "no agent binary at $agent (make build/guests/agent, or give --agent)"
	[ -x "$agent" ] || die "agent $agent is not executable"
	# A dynamically linked agent would not start: the initramfs has no libc.
	if is_dynamic "$agent"; then
		die "agent $agent is dynamically linked; build it with -static"
	fi
}

busybox_path() {
	local bb
	for bb in /bin/busybox /usr/bin/busybox; do
		[ -x "$bb" ] || continue
		if ! is_dynamic "$bb"; then
			echo "$bb"
			return 0
		fi
	done
	cannot "needs a static busybox (run: make deps, package busybox-static)"
}

abspath() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$PWD/$1" ;;
	esac
}

main() {
	local kroot busybox key initrd start=$SECONDS
	parse_args "$@"
	if [ "$list_only" = 1 ]; then
		list_kernels
		return 0
	fi
	need_tools cpio gzip sha256sum flock ldd od
	cache=$(abspath "${cache:-${VCTS_CACHE:-$HOME/.cache/vcts}}")
	kroot=$cache/guests
	mkdir -p "$kroot"
	[ -n "$kernel" ] || kernel=$(remembered_default_kernel "$kroot/default-kernel")
	[[ $kernel =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "bad kernel version: $kernel"
	agent=$(abspath "${agent:-$SRCDIR/build/guests/agent}")
	out=$(abspath "${out:-$SRCDIR/build/guests/$kernel}")
	check_agent
	busybox=$(busybox_path)

	kcache=$kroot/$kernel
	lock "$kroot/.lock-$kernel"
	if cache_valid "$kcache"; then
		log "kernel $kernel: cached in $kcache"
	else
		[ ! -e "$kcache" ] || log "kernel $kernel: cache incomplete, rebuilding"
		build_cache "$kcache"
		log "kernel $kernel: cached in $kcache ($((SECONDS - start)) s)"
	fi
	prepare_secure "$kroot/secure/$kernel"

	mkdir -p "$out"
	lock "$out/.lock"
	initrd=$out/initramfs.cpio.gz
	key=$(initramfs_key "$busybox")
	if [ -f "$initrd" ] && [ -f "$out/initramfs.key" ] &&
		[ "$(cat "$out/initramfs.key")" = "$key" ]; then
		log "initramfs up to date: $initrd"
	else
		log "building initramfs"
		rm -f "$out/initramfs.key"
		build_initramfs "$initrd" "$busybox"
		echo "$key" >"$out/initramfs.key"
		log "initramfs: $initrd ($(stat -c %s "$initrd") bytes)"
	fi
	echo "vmlinux=$kcache/vmlinux"
	echo "initrd=$initrd"
	if [ -n "$skdir" ]; then echo "secure=$skdir/vcts_secure.ko"; else echo "secure=none"; fi
}

kcache=
skdir=
main "$@"
