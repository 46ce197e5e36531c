import type { ChallengeRecordView } from '../../messages/map';

export function RecentChallenges({ rows }: { rows: ChallengeRecordView[] }) {
  if (rows.length === 0) return <p className="muted">No payment requests seen yet.</p>;
  return (
    <table data-testid="recent-challenges">
      <thead>
        <tr>
          <th>When</th>
          <th>Site</th>
          <th>Protocol</th>
          <th>Outcome</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td>{new Date(r.seenAt).toLocaleTimeString()}</td>
            <td>{r.origin}</td>
            <td>{r.protocols.join(', ') || '—'}</td>
            <td className={r.error ? 'error' : undefined}>{r.error ?? 'seen'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
