/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * junit.c - JUnit XML for CI, made only by prove: for every part,
 *   prove --norc --formatter TAP::Formatter::JUnit --exec cat PART.tap
 * over a copy of its TAP whose version line says 13 (prove 3.44 rejects
 * "TAP version 14"), its output kept as out/junit/PART.xml once xmllint
 * finds it well formed.  Several prove run at once, biggest file first;
 * each runs in its own process group with a deadline (proc.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include "report.h"
#include "../proc.h"

#define DEADLINE_MS   (10u * 60u * 1000u)
#define XMLLINT_MS    (60u * 1000u)
#define PATH_LEN      4096

/* Runs prove in the copy's directory, its stderr apart from the XML. */
static const char prove_script[] =
	"unset HARNESS_OPTIONS HARNESS_SUBCLASS HARNESS_PERL_SWITCHES HARNESS_TIMER; "
	"cd \"$1\" && exec prove --norc --formatter TAP::Formatter::JUnit --exec cat \"$2\" "
	"2>\"$3\"";

struct job {
	const struct vt_rp_part *part;
	char copy_name[160];          /* PART.tap in the temporary directory  */
	char copy[PATH_LEN];
	char errf[PATH_LEN];
	char xml_tmp[PATH_LEN];
	char xml[PATH_LEN];
	struct vt_proc proc;
	unsigned long long started_ms;
	bool running, done;
};

struct vt_rp_junit {
	struct job *job;
	unsigned n, next, max_running;
	char tmp[PATH_LEN];
	bool have_xmllint;
};

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_LEN];
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", prog);
		if (access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_LEN];
	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(buf, 0777) == 0 || errno == EEXIST)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", buf, strerror(errno));
	return -1;
}

/* The TAP with its version line made 13. */
static int write_copy(const struct job *j, char *err, size_t errlen)
{
	FILE *in = fopen(j->part->file, "r"), *out = in ? fopen(j->copy, "w") : NULL;
	bool ok = in && out;
	if (ok) {
		char buf[1 << 16];
		size_t n;
		int c;
		fputs("TAP version 13\n", out);
		while ((c = fgetc(in)) != EOF && c != '\n')
			;                     /* the old version line */
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			if (fwrite(buf, 1, n, out) != n)
				ok = false;
		ok = ok && !ferror(in);
	}
	if (in)
		fclose(in);
	if (out && fclose(out))
		ok = false;
	if (!ok)
		snprintf(err, errlen, "junit: cannot copy %s to %s", j->part->file, j->copy);
	return ok ? 0 : -1;
}

static int start_job(struct vt_rp_junit *jn, struct job *j, char *err, size_t errlen)
{
	if (write_copy(j, err, errlen))
		return -1;
	char *argv[] = { "sh", "-c", (char *)prove_script, "sh", jn->tmp, j->copy_name, j->errf,
			 NULL };
	struct vt_proc_opts o = { .log_path = j->xml_tmp };
	char why[320];
	if (vt_proc_spawn(&j->proc, argv, &o, why, sizeof(why))) {
		snprintf(err, errlen, "junit: cannot start prove: %s", why);
		return -1;
	}
	j->running = true;
	j->started_ms = now_ms();
	return 0;
}

static void first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* xmllint --noout FILE: 0 if well formed, else its first complaint. */
static int well_formed(const char *xml, char *why, size_t len)
{
	char log[PATH_LEN];
	snprintf(log, sizeof(log), "%s.lint", xml);
	char *argv[] = { "xmllint", "--noout", (char *)xml, NULL };
	struct vt_proc_opts o = { .log_path = log };
	struct vt_proc p;
	int rc = -1;
	if (vt_proc_spawn(&p, argv, &o, why, len) == 0) {
		if (vt_proc_wait(&p, XMLLINT_MS)) {
			vt_proc_stop(&p, 100);
			snprintf(why, len, "xmllint did not finish");
		} else if (WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0) {
			rc = 0;
		} else {
			first_line(log, why, len);
		}
	}
	unlink(log);
	return rc;
}

/* prove is done: keep its XML, or say in one line why not. */
static int finish_job(struct vt_rp_junit *jn, struct job *j, char *err, size_t errlen)
{
	char why[400];
	j->running = false;
	j->done = true;
	if (file_size(j->xml_tmp) <= 0) {
		first_line(j->errf, why, sizeof(why));
		if (strstr(why, "TAP::Formatter::JUnit"))
			snprintf(err, errlen, "junit: prove cannot load TAP::Formatter::JUnit "
				 "(Debian package libtap-formatter-junit-perl)");
		else
			snprintf(err, errlen, "junit: prove wrote no XML for %s%s%.200s",
				 j->part->file, why[0] ? ": " : "", why);
		return -1;
	}
	if (jn->have_xmllint && well_formed(j->xml_tmp, why, sizeof(why))) {
		snprintf(err, errlen, "junit: %s is not well-formed XML: %.200s", j->xml_tmp, why);
		return -1;
	}
	if (rename(j->xml_tmp, j->xml)) {
		snprintf(err, errlen, "junit: %s: %s", j->xml, strerror(errno));
		return -1;
	}
	chmod(j->xml, 0644);            /* the log mode of proc.c is private */
	return 0;
}

/* Is the XML newer than every change of its TAP file or shards (written,
 * moved in)?  Then prove would only make it again. */
static bool up_to_date(const struct job *j)
{
	struct stat xml;
	if (stat(j->xml, &xml) != 0)
		return false;
	const struct timespec *t = &j->part->changed, *x = &xml.st_mtim;
	return x->tv_sec > t->tv_sec || (x->tv_sec == t->tv_sec && x->tv_nsec > t->tv_nsec);
}

static int cmp_size(const void *a, const void *b)
{
	long x = file_size(((const struct job *)a)->part->file);
	long y = file_size(((const struct job *)b)->part->file);
	return x < y ? 1 : x > y ? -1 : 0;
}

static void cleanup(struct vt_rp_junit *jn)
{
	for (unsigned i = 0; i < jn->n; i++) {
		struct job *j = &jn->job[i];
		if (j->running)
			vt_proc_stop(&j->proc, 200);
		unlink(j->copy);
		unlink(j->errf);
		unlink(j->xml_tmp);     /* gone already once renamed */
	}
	free(jn->job);
	free(jn);
}

static int setup_job(struct vt_rp_junit *jn, struct job *j, const struct vt_rp_part *p,
		     const char *dir)
{
	j->part = p;
	snprintf(j->copy_name, sizeof(j->copy_name), "%s.tap", p->name);
	int a = snprintf(j->copy, sizeof(j->copy), "%s/%s", jn->tmp, j->copy_name);
	int b = snprintf(j->errf, sizeof(j->errf), "%s/%s.err", jn->tmp, p->name);
	int c = snprintf(j->xml, sizeof(j->xml), "%s/%s.xml", dir, p->name);
	int d = snprintf(j->xml_tmp, sizeof(j->xml_tmp), "%s/.%s.xml.tmp", dir, p->name);
	return a < PATH_LEN && b < PATH_LEN && c < PATH_LEN && d < PATH_LEN ? 0 : -1;
}

struct vt_rp_junit *vt_rp_junit_start(const struct vt_rp_report *r, const char *out,
				      unsigned jobs, char *err, size_t errlen)
{
	char dir[PATH_LEN];
	if (!in_path("prove")) {
		snprintf(err, errlen, "junit: prove not found in PATH (Debian package perl)");
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s/junit", out);
	if (mkdir_p(dir, err, errlen))
		return NULL;
	const char *tmp = vt_proc_tmpdir();
	struct vt_rp_junit *jn = calloc(1, sizeof(*jn));
	if (!tmp || !jn || !(jn->job = calloc(r->nparts ? r->nparts : 1, sizeof(*jn->job)))) {
		snprintf(err, errlen, "junit: %s",
			 tmp ? "out of memory" : "no temporary directory");
		free(jn);
		return NULL;
	}
	snprintf(jn->tmp, sizeof(jn->tmp), "%s", tmp);
	jn->max_running = jobs ? jobs : 1;
	jn->have_xmllint = in_path("xmllint");
	if (!jn->have_xmllint)
		fprintf(stderr, "vcts: report: xmllint not found (Debian package libxml2-utils): "
				"the JUnit XML is not checked\n");
	for (unsigned i = 0; i < r->nparts; i++) {
		if (setup_job(jn, &jn->job[jn->n], &r->parts[i], dir)) {
			snprintf(err, errlen, "junit: path too long under %s", dir);
			cleanup(jn);
			return NULL;
		}
		if (!up_to_date(&jn->job[jn->n]))
			jn->n++;
	}
	qsort(jn->job, jn->n, sizeof(*jn->job), cmp_size);
	for (; jn->next < jn->n && jn->next < jn->max_running; jn->next++)
		if (start_job(jn, &jn->job[jn->next], err, errlen)) {
			cleanup(jn);
			return NULL;
		}
	return jn;
}

int vt_rp_junit_finish(struct vt_rp_junit *jn, char *err, size_t errlen)
{
	unsigned done = 0;
	int rc = 0;
	while (done < jn->n && rc == 0) {
		bool progress = false;
		for (unsigned i = 0; i < jn->next && rc == 0; i++) {
			struct job *j = &jn->job[i];
			if (!j->running)
				continue;
			if (!vt_proc_exited(&j->proc)) {
				if (now_ms() - j->started_ms > DEADLINE_MS) {
					snprintf(err, errlen, "junit: prove on %s did not "
						 "finish in %u s", j->part->file,
						 DEADLINE_MS / 1000);
					rc = -1;
				}
				continue;
			}
			progress = true;
			done++;
			rc = finish_job(jn, j, err, errlen);
			if (rc == 0 && jn->next < jn->n)
				rc = start_job(jn, &jn->job[jn->next++], err, errlen);
		}
		if (!progress && rc == 0)
			usleep(5000);
	}
	cleanup(jn);
	return rc;
}

void vt_rp_junit_abort(struct vt_rp_junit *jn)
{
	if (jn)
		cleanup(jn);
}
