// Runs once before the suite. Filled in as subsystems need shared set-up (runner bundle, image).
export default async function setup(): Promise<void> {}
