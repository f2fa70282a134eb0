// Routes and the page frame. The client's own paths live under /ui/; pyBit's old page paths
// (/dashboard.htm, /job.htm, …) open the matching screen so that bookmarks keep working.
import { NavLink, Route, Routes, Navigate, useLocation } from 'react-router-dom';
import { useConnection } from './lib/context';
import { useEventStream, useLiveConnected } from './lib/events';
import { DashboardScreen } from './screens/dashboard';
import { JobsScreen } from './screens/jobs';
import { JobScreen } from './screens/job';
import { SubmitScreen } from './screens/submit';
import { PackagesScreen, InstancesScreen } from './screens/packages';
import { WorkersScreen } from './screens/workers';
import { LookupsScreen } from './screens/lookups';
import { SettingsScreen } from './screens/settings';
import { RepositoriesScreen } from './screens/repositories';

const NAV: Array<[string, string]> = [
  ['/ui/dashboard', 'Dashboard'],
  ['/ui/jobs', 'Jobs'],
  ['/ui/submit', 'Submit'],
  ['/ui/packages', 'Packages'],
  ['/ui/instances', 'Package instances'],
  ['/ui/workers', 'Workers'],
  ['/ui/lookups', 'Lookups'],
  ['/ui/repositories', 'Repositories'],
  ['/ui/settings', 'Settings'],
];

/** pyBit page → screen. */
const LEGACY: Record<string, string> = {
  '/index.htm': '/ui/dashboard',
  '/dashboard.htm': '/ui/dashboard',
  '/job.htm': '/ui/jobs',
  '/buildd.htm': '/ui/workers',
  '/package.htm': '/ui/packages',
  '/packageinstance.htm': '/ui/instances',
  '/lookups.htm': '/ui/lookups',
  '/arches.htm': '/ui/lookups/arches',
  '/suites.htm': '/ui/lookups/suites',
  '/dists.htm': '/ui/lookups/dists',
  '/formats.htm': '/ui/lookups/formats',
  '/statuses.htm': '/ui/lookups/statuses',
  '/envs.htm': '/ui/lookups/envs',
  '/blacklist.htm': '/ui/lookups/blacklist',
};

function LegacyRedirect() {
  const loc = useLocation();
  return <Navigate to={(LEGACY[loc.pathname] ?? '/ui/dashboard') + loc.search} replace />;
}

function Header() {
  const { conn } = useConnection();
  const live = useLiveConnected();
  return (
    <header className="top">
      <a className="brand" href="#main">
        Buildbox
      </a>
      <nav aria-label="screens">
        {NAV.map(([to, label]) => (
          <NavLink key={to} to={to} className={({ isActive }) => (isActive ? 'active' : '')}>
            {label}
          </NavLink>
        ))}
      </nav>
      <span className="conn" title={conn.baseUrl}>
        <span className={`dot ${live ? 'on' : 'off'}`} aria-hidden="true" />
        <span data-testid="live-state">{live ? 'live' : 'offline'}</span>
        {' · '}
        {conn.token ? 'logged in' : <NavLink to="/ui/settings">log in</NavLink>}
      </span>
    </header>
  );
}

export function App() {
  useEventStream();
  return (
    <>
      <Header />
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<DashboardScreen />} />
          {Object.keys(LEGACY).map((p) => (
            <Route key={p} path={p} element={<LegacyRedirect />} />
          ))}
          <Route path="/ui" element={<Navigate to="/ui/dashboard" replace />} />
          <Route path="/ui/dashboard" element={<DashboardScreen />} />
          <Route path="/ui/jobs" element={<JobsScreen />} />
          <Route path="/ui/jobs/:id" element={<JobScreen />} />
          <Route path="/ui/submit" element={<SubmitScreen />} />
          <Route path="/ui/packages" element={<PackagesScreen />} />
          <Route path="/ui/instances" element={<InstancesScreen />} />
          <Route path="/ui/workers" element={<WorkersScreen />} />
          <Route path="/ui/lookups" element={<LookupsScreen />} />
          <Route path="/ui/lookups/:section" element={<LookupsScreen />} />
          <Route path="/ui/repositories" element={<RepositoriesScreen />} />
          <Route path="/ui/settings" element={<SettingsScreen />} />
          <Route path="*" element={<p>No such screen. <NavLink to="/ui/dashboard">Go to the dashboard</NavLink>.</p>} />
        </Routes>
      </main>
    </>
  );
}
