import BetterSqlite3 from 'better-sqlite3';
import type { Action, Ledger } from './workload.js';

interface ExperimentRow {
  key: string;
  current_version: number;
  active_version: number | null;
  state: string;
  due_at: string | null;
}
interface VersionRow {
  key: string;
  version: number;
  status: string;
  decision_id: string | null;
  body: string;
  retired_at: string | null;
}
interface FlagState {
  state: string;
  experiment: { key: string; version: number };
  provenance: { decision_id: string };
}
interface Doc {
  service: string;
  version: number;
  flags: Record<string, FlagState>;
}

const ACTION_EVENT: Record<Action, string> = { pause: 'paused', resume: 'resumed', rollback: 'rolled_back', complete: 'completed' };

export interface FileSummary {
  flagsMax: Map<string, number>;
  auditEvents: number;
  experiments: number;
  versions: number;
  byState: Record<string, number>;
}

/**
 * Reads the database file as the killed server left it (read-only, WAL included: exactly what the
 * next start recovers) and checks that nothing half-written is there and nothing acknowledged is
 * missing. Documents and audit events are checked incrementally: each round looks at what is new.
 */
export class FileChecker {
  private docSeq = 0;
  private auditSeq = 0;

  constructor(private readonly dbPath: string) {}

  check(ledger: Ledger, round: number): FileSummary {
    const v = (category: string, message: string) => ledger.violation(category, `round ${round}: ${message}`);
    const db = new BetterSqlite3(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      const integrity = db.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') v('half-written', `integrity_check: ${String(integrity)}`);
      const fk = db.pragma('foreign_key_check') as unknown[];
      if (fk.length > 0) v('half-written', `foreign_key_check: ${JSON.stringify(fk.slice(0, 3))}`);

      const experiments = new Map(
        (db.prepare('SELECT key, current_version, active_version, state, due_at FROM experiments').all() as ExperimentRow[]).map((e) => [e.key, e]),
      );
      const versions = new Map<string, VersionRow & { intent: any }>();
      const versionsOf = new Map<string, number[]>();
      for (const r of db.prepare('SELECT key, version, status, decision_id, body, retired_at FROM intent_versions ORDER BY key, version').all() as VersionRow[]) {
        versions.set(`${r.key}\0${r.version}`, { ...r, intent: JSON.parse(r.body) });
        versionsOf.set(r.key, [...(versionsOf.get(r.key) ?? []), r.version]);
      }
      const decisions = new Map(
        (db.prepare('SELECT id, key, version, status FROM decisions').all() as { id: string; key: string | null; version: number | null; status: string }[]).map((d) => [d.id, d]),
      );
      const approvals = new Set(
        (db.prepare('SELECT key, version, actor FROM approvals').all() as { key: string; version: number; actor: string }[]).map((a) => `${a.key}\0${a.version}\0${a.actor}`),
      );
      const audited = new Set(
        (db.prepare(`SELECT type, experiment, version FROM audit_events WHERE type IN ('submitted', 'decided')`).all() as { type: string; experiment: string; version: number }[]).map(
          (a) => `${a.type}\0${a.experiment}\0${a.version}`,
        ),
      );
      const actionCounts = new Map(
        (
          db
            .prepare(`SELECT experiment, type, count(*) AS n FROM audit_events WHERE type IN ('paused', 'resumed', 'rolled_back', 'completed') GROUP BY experiment, type`)
            .all() as { experiment: string; type: string; n: number }[]
        ).map((r) => [`${r.experiment}\0${r.type}`, r.n]),
      );

      // Every experiment is whole: versions 1..current, each with its decision and its audit events.
      for (const e of experiments.values()) {
        const vs = versionsOf.get(e.key) ?? [];
        if (vs.length !== e.current_version || vs.some((n, i) => n !== i + 1)) {
          v('half-written', `${e.key}: current_version ${e.current_version} but versions [${vs.join(', ')}]`);
        }
        if (e.state === 'draft' && e.active_version !== null) v('half-written', `${e.key} is draft with active version ${e.active_version}`);
        if (['scheduled', 'running', 'paused'].includes(e.state)) {
          const av = e.active_version === null ? undefined : versions.get(`${e.key}\0${e.active_version}`);
          if (!av || av.status !== 'approved' || av.retired_at !== null) {
            v('half-written', `${e.key} is ${e.state} on version ${e.active_version}, which is ${av ? `${av.status}${av.retired_at ? ', rolled back' : ''}` : 'missing'}`);
          }
        }
        if (e.state === 'scheduled' && e.due_at === null) v('half-written', `${e.key} is scheduled with no due_at`);
      }
      for (const r of versions.values()) {
        const id = `${r.key} v${r.version}`;
        if (!experiments.has(r.key)) v('half-written', `${id} has no experiment row`);
        const d = r.decision_id ? decisions.get(r.decision_id) : undefined;
        if (!d) v('half-written', `${id} has no decision (decision_id ${r.decision_id})`);
        else if (d.key !== r.key || d.version !== r.version) v('half-written', `${id} points at decision ${d.id} of ${d.key} v${d.version}`);
        else if ((d.status === 'denied') !== (r.status === 'denied')) v('half-written', `${id} is ${r.status} but its decision is ${d.status}`);
        for (const type of ['submitted', 'decided']) {
          if (!audited.has(`${type}\0${r.key}\0${r.version}`)) v('half-written', `${id} has no ${type} audit event`);
        }
      }

      // Flags documents: versions per service are 1..max with no gap, and never go below what was seen.
      const docRows = db.prepare('SELECT seq, service, version, etag FROM flag_documents ORDER BY seq').all() as {
        seq: number;
        service: string;
        version: number;
        etag: string;
      }[];
      const bySeq = new Map(docRows.map((d) => [d.seq, d]));
      const byVersion = new Map(docRows.map((d) => [`${d.service}\0${d.version}`, d]));
      const flagsMax = new Map<string, number>();
      for (const d of docRows) {
        const prev = flagsMax.get(d.service) ?? 0;
        if (d.version !== prev + 1) v('flags-versions', `${d.service}: version ${d.version} follows ${prev} (seq ${d.seq})`);
        flagsMax.set(d.service, Math.max(prev, d.version));
      }
      for (const [service, high] of ledger.flagsHigh) {
        const now = flagsMax.get(service) ?? 0;
        if (now < high) v('flags-versions', `${service}: flags version went back from ${high} to ${now}`);
      }
      for (const [service, max] of flagsMax) ledger.flagsHigh.set(service, Math.max(ledger.flagsHigh.get(service) ?? 0, max));

      // What clients were served must still be there, byte for byte (same ETag): no read saw uncommitted data.
      for (const s of ledger.servedFlags) {
        if (s.version === 0) continue;
        const row = byVersion.get(`${s.service}\0${s.version}`);
        if (!row) v('flags-versions', `${s.service} v${s.version} was served but is not in the file`);
        else if (row.etag !== s.etag) v('flags-versions', `${s.service} v${s.version} was served with ETag ${s.etag}, the file has ${row.etag}`);
      }
      for (const s of ledger.servedEvents) {
        const row = bySeq.get(s.id);
        if (!row || row.service !== s.service || row.version !== s.version || row.etag !== s.etag) {
          v('flags-versions', `event ${s.id} (${s.service} v${s.version}) was served but the file has ${row ? `${row.service} v${row.version}` : 'nothing'}`);
        }
      }

      // Every flag in every new document version comes from an approved version that names it.
      const newDocs = db.prepare(`SELECT d.seq, d.service, d.version, coalesce(b.document, d.document) AS document FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq WHERE d.seq > ? ORDER BY d.seq`).all(this.docSeq) as {
        seq: number;
        service: string;
        version: number;
        document: string;
      }[];
      for (const row of newDocs) {
        // A body pruned by the retention (docs/storage.md) before this check saw it: its row's
        // version and ETag are still checked above.
        if (row.document === '') {
          this.docSeq = row.seq;
          continue;
        }
        const doc = JSON.parse(row.document) as Doc;
        if (doc.service !== row.service || doc.version !== row.version) v('half-written', `document seq ${row.seq} says ${doc.service} v${doc.version}, row says ${row.service} v${row.version}`);
        for (const [flag, f] of Object.entries(doc.flags)) {
          const ver = versions.get(`${f.experiment.key}\0${f.experiment.version}`);
          if (!ver || ver.status !== 'approved') {
            v('half-written', `${row.service} v${row.version} flag ${flag} references ${f.experiment.key} v${f.experiment.version}, which is ${ver ? ver.status : 'missing'}`);
          } else if (!ver.intent.services.some((s: { service: string; flag: string }) => s.service === row.service && s.flag === flag)) {
            v('half-written', `${row.service} v${row.version} flag ${flag} is not in ${f.experiment.key} v${f.experiment.version}`);
          }
        }
        this.docSeq = row.seq;
      }

      // The latest documents and the experiments' states agree, in both directions.
      const latest = new Map<string, Doc>();
      for (const row of db
        .prepare(
          `SELECT coalesce(b.document, d.document) AS document FROM flag_documents d LEFT JOIN flag_document_bodies b ON b.seq = d.seq JOIN (SELECT service, max(version) AS version FROM flag_documents GROUP BY service) m
             ON m.service = d.service AND m.version = d.version`,
        )
        .all() as { document: string }[]) {
        const doc = JSON.parse(row.document) as Doc;
        latest.set(doc.service, doc);
      }
      for (const e of experiments.values()) {
        if (e.state !== 'running' && e.state !== 'paused') continue;
        const ver = versions.get(`${e.key}\0${e.active_version}`);
        if (!ver) continue;
        for (const s of ver.intent.services as { service: string; flag: string }[]) {
          const f = latest.get(s.service)?.flags[s.flag];
          const want = e.state === 'running' ? 'ENABLED' : 'DISABLED';
          if (!f || f.experiment.key !== e.key || f.experiment.version !== e.active_version || f.state !== want || f.provenance.decision_id !== ver.decision_id) {
            v('half-written', `${e.key} is ${e.state} on v${e.active_version} but ${s.service}/${s.flag} is ${f ? `${f.experiment.key} v${f.experiment.version} ${f.state}` : 'absent'}`);
          }
        }
      }
      for (const doc of latest.values()) {
        for (const [flag, f] of Object.entries(doc.flags)) {
          const e = experiments.get(f.experiment.key);
          if (!e || (e.state !== 'running' && e.state !== 'paused') || e.active_version !== f.experiment.version) {
            v('half-written', `${doc.service} v${doc.version} serves ${flag} of ${f.experiment.key} v${f.experiment.version}, but it is ${e ? `${e.state} on v${e.active_version}` : 'missing'}`);
          }
        }
      }

      // A new audit event names the flags versions its transaction wrote: they are in the file too.
      const newEvents = db.prepare('SELECT seq, type, experiment, data FROM audit_events WHERE seq > ? ORDER BY seq').all(this.auditSeq) as {
        seq: number;
        type: string;
        experiment: string | null;
        data: string;
      }[];
      for (const ev of newEvents) {
        const fv = (JSON.parse(ev.data) as { flags_versions?: Record<string, number> }).flags_versions ?? {};
        for (const [service, version] of Object.entries(fv)) {
          if (!byVersion.has(`${service}\0${version}`)) v('half-written', `audit ${ev.type} of ${ev.experiment} (seq ${ev.seq}) names ${service} v${version}, which is not in the file`);
        }
        this.auditSeq = ev.seq;
      }

      // Acknowledged writes are all there.
      for (const e of ledger.all()) {
        for (const [version, decisionId] of e.ackedVersions) {
          const r = versions.get(`${e.key}\0${version}`);
          if (!r) v('acked-lost', `${e.key} v${version} was answered 2xx but is not in the file`);
          else if (r.decision_id !== decisionId) v('acked-lost', `${e.key} v${version} was answered with decision ${decisionId}, the file has ${r.decision_id}`);
        }
        for (const a of e.ackedApprovals) {
          if (!approvals.has(`${e.key}\0${a.version}\0${a.actor}`)) v('acked-lost', `approval of ${e.key} v${a.version} by ${a.actor} was answered 201 but is not in the file`);
          if (a.complete && versions.get(`${e.key}\0${a.version}`)?.status !== 'approved') v('acked-lost', `${e.key} v${a.version} was answered approved but is not`);
        }
        for (const [action, n] of e.ackedActions) {
          const have = actionCounts.get(`${e.key}\0${ACTION_EVENT[action]}`) ?? 0;
          if (have < n) v('acked-lost', `${e.key}: ${n} ${action} answered 200, ${have} in the audit trail`);
        }
        // For in-doubt writes, whether they committed: the retry after restart must then be a replay.
        for (const a of e.doubt) {
          if (a.op === 'submit') a.committed = experiments.has(a.key);
          else if (a.op === 'put') a.committed = (versionsOf.get(a.key) ?? []).some((n) => versions.get(`${a.key}\0${n}`)!.intent.description === a.nonce);
          else if (a.op === 'approve') a.committed = approvals.has(`${a.key}\0${a.targetVersion}\0${a.actor}`);
        }
      }

      const byState: Record<string, number> = {};
      for (const e of experiments.values()) byState[e.state] = (byState[e.state] ?? 0) + 1;
      return {
        flagsMax,
        auditEvents: (db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n,
        experiments: experiments.size,
        versions: versions.size,
        byState,
      };
    } finally {
      db.close();
    }
  }
}
