#!/bin/sh
# netifd proto handler for proto 'ncm', backed by ncmd. It keeps comgt-ncm's option
# schema (so existing configs and luci-proto-ncm keep working) and holds no logic: ncmd
# runs as the interface's proto task, reports the link with notify_proto, and reports
# failures with the same error codes (LuCI shows their texts).

[ -n "$INCLUDE_ONLY" ] || {
	. /lib/functions.sh
	. ../netifd-proto.sh
	init_proto "$@"
}

proto_ncm_init_config() {
	no_device=1
	available=1
	proto_config_add_string "device:device"
	proto_config_add_string apn
	proto_config_add_string auth
	proto_config_add_string username
	proto_config_add_string password
	proto_config_add_string pincode
	proto_config_add_string delay
	proto_config_add_string mode
	proto_config_add_string pdptype
	proto_config_add_int profile
	proto_config_add_string ifname
	proto_config_add_boolean sourcefilter
	proto_config_add_boolean delegate
	proto_config_add_int mtu
	proto_config_add_string ipconfig
	proto_config_add_array probe_hosts
	proto_config_add_int probe_interval
	proto_config_add_int probe_timeout
	proto_config_add_int probe_count
	proto_config_add_int probe_port
	proto_config_add_int watch_interval
	proto_config_add_boolean psonly
	proto_config_add_int backoff_max
	proto_config_add_int linksettle
	proto_config_add_int attachwait
	proto_config_add_string share_port
	proto_config_add_int share_ports
	proto_config_add_defaults
}

proto_ncm_setup() {
	local interface="$1"
	# The configuration (PIN, password) goes through the environment, which only root
	# can read, never through the command line.
	proto_export "NCMD_CONFIG=$data"
	proto_run_command "$interface" /usr/sbin/ncmd netifd run "$interface"
}

proto_ncm_teardown() {
	local interface="$1"
	# ncmd disconnects the modem and releases the link on SIGTERM (within 4 s).
	proto_kill_command "$interface" 15
}

[ -n "$INCLUDE_ONLY" ] || add_protocol ncm
