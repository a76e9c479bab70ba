// Every function and tool that speaks Auth0 also needs the platform (the contract, the store, JWS):
// importing GangwayAuth0 brings both.
@_exported import GangwayPlatform
