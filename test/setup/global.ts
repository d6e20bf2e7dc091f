// Placeholder replaced when the shared Redis test server lands.
export default async function setup(): Promise<void> {}
