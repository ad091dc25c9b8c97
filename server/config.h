/*
 * The daemon's settings: defaults, then the --config file, then the
 * command line (which wins; its --listen options replace the file's).
 */
#ifndef VMMAPID_SERVER_CONFIG_H
#define VMMAPID_SERVER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_CORS 16

struct config {
	int cf_foreground; /* -d: stay in the foreground, log to stderr */
	int cf_verbose;    /* -v */
	/* "unix:PATH", "tcp:HOST:PORT", "tls:HOST:PORT" */
	char *cf_listen[CONFIG_MAX_LISTEN];
	int cf_nlisten;
	char *cf_state_dir;         /* default "vmmapid-state" */
	char *cf_db;                /* default STATE_DIR/vmmapid.db */
	char *cf_driver;            /* auto, kvm, sim */
	unsigned cf_max_vcpus;      /* 0: the host's CPU count */
	uint64_t cf_max_memory_mib; /* 0: the host's RAM */
	unsigned cf_http_threads;   /* 0: the host's CPU count */
	int cf_per_connection;      /* --http-model per-connection */
	int cf_access_log;          /* --access-log on|off */
	unsigned cf_conn_limit;     /* open connections per listener */
	unsigned cf_conn_timeout; /* idle seconds before a connection closes */
	unsigned cf_conn_reserve; /* more per listener, for host root and
				     health checks only (server/peer.c) */
	unsigned cf_conns_per_caller;    /* per uid (Unix) or address (TCP) */
	unsigned cf_streams_per_caller;  /* ditto, streamed responses */
	unsigned cf_header_timeout;      /* seconds to send request headers */
	uint64_t cf_response_budget_mib; /* unread response bodies, MiB */
	unsigned
	    cf_shutdown_timeout;    /* seconds to finish requests on SIGTERM */
	unsigned cf_workers;        /* threads for requests that may block */
	char *cf_pidfile;           /* daemonized only; NULL: none */
	uint64_t cf_upload_max_mib; /* image uploads at most (MiB) */
	uint64_t cf_disk_reserve_mib; /* free space creates leave (MiB) */
	char *cf_vmm_group;           /* name or gid; default "vmm" */
	unsigned cf_max_running; /* running VMs per uid (not root); 0: any */
	unsigned cf_spare_vms;   /* VMs the backend makes ahead; 0: none */
	char *cf_sysfs_root;     /* PCI devices under it; default "/sys" */
	int cf_ppt_bind; /* --ppt-bind: reserved devices go to vfio-pci */
	/* Origins whose browsers may call (CORS); the command line's
	 * replace the file's. */
	char *cf_cors[CONFIG_MAX_CORS];
	int cf_ncors;
	int cf_metrics_anonymous; /* GET /metrics without a token */
	char *cf_metrics_token;   /* --metrics-token-file; NULL: none */
	char *cf_tls_cert;        /* PEM chain of tls: listeners; NULL: none */
	char *cf_tls_key;         /* its private key (PEM); NULL: none */
	int cf_allow_plain_tcp;   /* tokens on plain TCP to any address */
	/* The event journal and its subscribers (core/events.h). */
	uint64_t cf_events_keep;      /* events kept; 0: no bound */
	unsigned cf_events_max_age;   /* seconds; 0: no bound */
	unsigned cf_events_buffer;    /* events queued per subscriber */
	unsigned cf_events_keepalive; /* idle seconds before a comment */
};

/* Usage text for --help. */
void config_usage(FILE *out);

/*
 * Fills cf from argv (and the file named by --config).  Returns 0, 1 when
 * --help or --version was answered (exit 0), or -1 with a message on
 * stderr (exit 2).
 */
int config_parse(struct config *cf, int argc, char **argv);

/*
 * SIGHUP: parses argv again (and so the --config file as it is now) into
 * next, then says on the log what of it differs from cur and cannot
 * change without a restart.  0, or -1 when the new settings do not
 * parse (next is then freed; keep cur).
 */
int config_reparse(const struct config *cur, struct config *next, int argc,
		   char **argv);

/* Frees what config_parse allocated. */
void config_free(struct config *cf);

#endif
