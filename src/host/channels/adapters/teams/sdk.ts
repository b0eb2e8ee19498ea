// The parts of the Teams SDK this adapter uses, in one place. The SDK's App owns an Express server and
// answers activities itself; Warren's host owns HTTP (the adapter's Hono app) and stores a message
// before it is acknowledged, so the App is not used: its JWT validator and the Adaptive Card types are.
// The package has no `exports` map; the validator lives at this path in 2.0.x.
export { JwtValidator } from '@microsoft/teams.apps/dist/middleware/auth/jwt-validator.js';
export { AdaptiveCard, SubmitAction, TextBlock } from '@microsoft/teams.cards';
