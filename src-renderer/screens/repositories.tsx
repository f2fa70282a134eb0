// Repositories: webhook sources and what each suite's apt repository holds.
export function RepositoriesScreen() {
  return <h1>Repositories</h1>;
}
