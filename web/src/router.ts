import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';

/** One route per page, under the /ui/ base the API serves the dashboard on. */
const routes: RouteRecordRaw[] = [
  { path: '/', redirect: { name: 'runs' } },
  { path: '/runs', name: 'runs', component: () => import('./pages/RunsPage.vue') },
  { path: '/runs/new', name: 'new-run', component: () => import('./pages/NewRunPage.vue') },
  { path: '/runs/:id', name: 'run', component: () => import('./pages/RunDetailPage.vue'), props: true },
  { path: '/flows', name: 'flows', component: () => import('./pages/FlowsPage.vue') },
  { path: '/flow-runs/:id', name: 'flow-run', component: () => import('./pages/FlowRunPage.vue'), props: true },
  { path: '/sessions/:id', name: 'session', component: () => import('./pages/SessionPage.vue'), props: true },
  { path: '/schedules', name: 'schedules', component: () => import('./pages/SchedulesPage.vue') },
  { path: '/runners', name: 'runners', component: () => import('./pages/RunnersPage.vue') },
  { path: '/fleet', name: 'fleet', component: () => import('./pages/FleetPage.vue') },
  { path: '/agents', name: 'agents', component: () => import('./pages/AgentsPage.vue') },
  { path: '/agents/new', name: 'agent-new', component: () => import('./pages/AgentEditPage.vue') },
  { path: '/agents/:name', name: 'agent', component: () => import('./pages/AgentEditPage.vue'), props: true },
  { path: '/scripts', name: 'scripts', component: () => import('./pages/ScriptsPage.vue') },
  { path: '/scripts/new', name: 'script-new', component: () => import('./pages/ScriptEditPage.vue') },
  { path: '/scripts/:name', name: 'script', component: () => import('./pages/ScriptEditPage.vue'), props: true },
  { path: '/notifications', name: 'notifications', component: () => import('./pages/NotificationsPage.vue') },
  { path: '/usage', name: 'usage', component: () => import('./pages/UsagePage.vue') },
  { path: '/profiles', name: 'profiles', component: () => import('./pages/ProfilesPage.vue') },
  { path: '/tokens', name: 'tokens', component: () => import('./pages/TokensPage.vue') },
  { path: '/:missing(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') },
];

export function createAppRouter() {
  const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes });
  // A rebuild (npm start rebuilds a stale dashboard) replaces the page chunks an open tab would load
  // next: load the page it was going to afresh instead of doing nothing.
  router.onError((error: unknown, to) => {
    if (error instanceof Error && /dynamically imported module|Importing a module script failed/i.test(error.message)) {
      window.location.assign(router.resolve(to.fullPath).href);
    }
  });
  return router;
}
