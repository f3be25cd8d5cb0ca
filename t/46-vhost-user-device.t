#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/46-vhost-user-device.t - `vcts device --vhost-user SOCK`: the
# vhost-user tests against backends someone else started (here:
# qemu-storage-daemon, the C virtiofsd, DPDK as a vhost-user server), and
# bad input: one clear line on stderr, exit status 2 and no hang for a
# missing path, a file that is not a socket, a stale socket, and sockets
# that speak another protocol (an NBD server, a QMP monitor).  Peers that
# close mid-handshake or never answer are covered by t/unit/vhost_user.c.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

need_build vcts
unset HARNESS_ACTIVE HARNESS_VERSION

QSD=qemu-storage-daemon
TESTPMD=dpdk-testpmd
VIRTIOFSD=/usr/lib/qemu/virtiofsd
LIMIT=60           # no vcts device call may take longer (a hang fails)

pids=()
stop_all() {
	local p
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	# the shell reaps them meanwhile: nothing is left, not even a zombie
	for p in "${pids[@]}"; do
		for _ in $(seq 1 100); do
			[ -d "/proc/$p" ] || break
			sleep 0.02
		done
	done
	pids=()
}
trap 'rc=$?; stop_all 2>/dev/null; (exit "$rc"); _t_finish' EXIT

have() {
	command -v "$1" >/dev/null 2>&1
}

# Start a backend in the background: LOG CMD... (its pid joins $pids).
start() {
	local log=$1
	shift
	"$@" </dev/null >"$log" 2>&1 &
	pids+=("$!")
	disown "$!"      # no job notices on stderr when it is killed
}

wait_socket() {
	for _ in $(seq 1 500); do
		[ -S "$1" ] && return 0
		sleep 0.02
	done
	echo "$1 did not appear" >&2
	return 1
}

# "vcts device ARGS" must fail with status 2 and exactly one line on
# stderr matching the extended regex RE, nothing on stdout.
device_error() {
	local re=$1 rc=0
	shift
	timeout "$LIMIT" "$VCTS" device "$@" >uo 2>ue || rc=$?
	if [ "$rc" != 2 ]; then
		echo "exit status $rc, expected 2"
		cat ue uo
		return 1
	fi
	one_line ue && grep -Eq -- "$re" ue && test ! -s uo
}

plan 10

expect_success 'without a socket: usage error' '
	device_error "vcts: device: --vhost-user SOCKET and --type .* are required" --type blk
'
expect_success 'an unknown device type: usage error' '
	: >sock && device_error "--type wants blk, net or fs, not .*gpu" --vhost-user sock --type gpu
'
expect_success 'a path that does not exist' '
	device_error "vcts: device: .*/nothere: No such file or directory" \
		--vhost-user "$TMP/nothere" --type blk
'
expect_success 'a regular file is not a socket' '
	truncate -s 1M disk.img &&
	device_error "vcts: device: .*disk.img: not a unix socket" --vhost-user "$TMP/disk.img" --type blk
'

if have "$QSD"; then
	start qsd-other.log "$QSD" --blockdev "driver=file,node-name=f,filename=$TMP/disk.img" \
		--nbd-server "addr.type=unix,addr.path=$TMP/nbd.sock" \
		--chardev "socket,id=m,path=$TMP/qmp.sock,server=on,wait=off" \
		--monitor chardev=m,mode=control
	start qsd-blk.log "$QSD" --blockdev "driver=file,node-name=f,filename=$TMP/disk.img" \
		--blockdev raw,node-name=r,file=f \
		--export "type=vhost-user-blk,id=e,node-name=r,addr.type=unix,addr.path=$TMP/blk.sock,writable=on"
	# shellcheck disable=SC2034  # used by the snippet below
	blk_pid=${pids[-1]}
	expect_success 'an NBD server is not a vhost-user backend' '
		wait_socket "$TMP/nbd.sock" &&
		device_error "nbd.sock: not a working vhost-user backend: .*GET_FEATURES" \
			--vhost-user "$TMP/nbd.sock" --type blk
	'
	expect_success 'a QMP monitor is not a vhost-user backend' '
		wait_socket "$TMP/qmp.sock" &&
		device_error "qmp.sock: not a working vhost-user backend" \
			--vhost-user "$TMP/qmp.sock" --type net
	'
	expect_success 'qemu-storage-daemon started by hand: bring-up and split rings pass' '
		wait_socket "$TMP/blk.sock" &&
		timeout "$LIMIT" "$VCTS" device --vhost-user "$TMP/blk.sock" --type blk \
			--filter "vhost-user/bring-up*" --filter "vhost-user/ring-split*" >out &&
		grep -q "^ok 1 - vhost-user/bring-up\[socket\]$" out &&
		grep -q "^ok [0-9]* - vhost-user/ring-split\[socket-depth32\]$" out
	'
	expect_success 'a stale socket (the backend was killed)' '
		kill -9 "$blk_pid" && sleep 0.2 && test -S "$TMP/blk.sock" &&
		device_error "blk.sock: cannot connect: Connection refused" \
			--vhost-user "$TMP/blk.sock" --type blk
	'
else
	for t in 'an NBD server' 'a QMP monitor' 'qemu-storage-daemon by hand' 'a stale socket'; do
		skip "$t" "$QSD not installed"
	done
fi

if [ -x "$VIRTIOFSD" ]; then
	expect_success 'virtiofsd started by hand: its one session passes bring-up' '
		mkdir share && echo hello >share/f &&
		"$VIRTIOFSD" --socket-path="$TMP/fs.sock" -o source="$TMP/share" -o cache=none \
			</dev/null >virtiofsd.log 2>&1 &
		pid=$! &&
		wait_socket "$TMP/fs.sock" &&
		timeout "$LIMIT" "$VCTS" device --vhost-user "$TMP/fs.sock" --type fs >out &&
		grep -q "^1\.\.1$" out && grep -q "^ok 1 - vhost-user/bring-up\[socket\]$" out &&
		timeout 10 tail --pid="$pid" -f /dev/null
	'
else
	skip 'virtiofsd by hand' "$VIRTIOFSD not installed"
fi

if have "$TESTPMD" && [ "$(nproc)" -ge 2 ]; then
	start testpmd.log "$TESTPMD" -l 0-1 --no-huge -m 128 --no-pci --no-shconf \
		--no-telemetry --file-prefix=vcts --vdev "net_vhost0,iface=$TMP/net.sock,client=0" \
		-- --total-num-mbufs=16384 --forward-mode=io --port-topology=loop \
		--disable-link-check --stats-period=3600 -a
	expect_success 'DPDK as a vhost-user server: bring-up passes' '
		wait_socket "$TMP/net.sock" &&
		timeout "$LIMIT" "$VCTS" device --vhost-user "$TMP/net.sock" --type net \
			--filter "vhost-user/bring-up*" >out &&
		grep -q "^ok 1 - vhost-user/bring-up\[socket\]$" out
	'
else
	skip 'DPDK as a vhost-user server' "$TESTPMD not installed or fewer than two CPUs"
fi

stop_all 2>/dev/null
for d in /var/run/dpdk/vcts /var/run/dpdk; do
	rmdir "$d" 2>/dev/null || true
done
