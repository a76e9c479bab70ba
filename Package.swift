// swift-tools-version:6.1
// Gangway: an Auth0-compatible identity service, shipped as one small executable per endpoint.
import Foundation
import PackageDescription

/// Every endpoint is its own executable: each folder under functions/ is one (and infra/routes.json routes to it;
/// tests/test_infra.py checks the two agree). Adding a function is adding its folder and its routes.
let functions = try! FileManager.default.contentsOfDirectory(atPath: Context.packageDirectory + "/functions")
    .filter { FileManager.default.fileExists(atPath: Context.packageDirectory + "/functions/\($0)/main.swift") }
    .sorted()

/// What a function links beyond the core, when it needs more.
let functionDependencies: [String: [Target.Dependency]] = [
    "login": [.product(name: "Mustache", package: "swift-mustache")]
]
/// Static archives a function needs beyond FoundationEssentials' when its Swift runtime is linked in: swift-mustache
/// imports Foundation, whose static library needs CoreFoundation, ICU and Dispatch named (the per-target
/// -static-stdlib below does not pull in a dependency's Foundation by itself).
let functionStaticLibraries: [String: [String]] = [
    "login": ["CoreFoundation", "_FoundationICU", "FoundationInternationalization", "swiftDispatch", "dispatch", "BlocksRuntime"]
]

/// Swift settings of the code every function runs (core modules and functions), in release: metadata of concrete
/// generic types (e.g. `KeyedDecodingContainer<CodingKeys>` in every `Decodable` init) through direct accessor calls,
/// not through mangled-name lookups, which check each generic requirement by scanning every protocol conformance in
/// the executable on a cold process (43% of a cold `well-known`'s instructions; see the README, "Measured figures").
let coldStartSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release))
]

/// How a function links in release on Linux: the Swift runtime and libstdc++ statically, glibc and libgcc_s
/// dynamically and no glibc symbol newer than 2.34 (see the comment at the function targets below).
func releaseLinkFlags(function: String) -> [String] {
    // libstdc++ last again: an archive only fills references made before it (login's ICU comes after swiftc's).
    let foundation = ["_FoundationCollections", "_FoundationCShims"] + (functionStaticLibraries[function] ?? []) + ["stdc++"]
    var flags = ["-static-stdlib"]
    flags += foundation.flatMap { ["-Xlinker", "-l" + $0] }
    // `-static-stdlib` exports every public symbol of our modules (its link file passes -export-dynamic): 5,900 names
    // nothing looks up, which the Swift runtime's start-up `dladdr` (finding its own path) walks one by one (callgrind:
    // −0.2 million instructions and −18 page faults per cold `well-known` without them). The last of the two flags wins.
    flags += ["-Xlinker", "--no-export-dynamic"]
    flags += ["-L", Context.packageDirectory + "/Sources/System/StaticCXX"]
    return flags
}

let package = Package(
    name: "Gangway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gangway", targets: ["gangway"]),
        .executable(name: "gangway-bench", targets: ["gangway-bench"]),
        .executable(name: "gangway-cold-floor", targets: ["gangway-cold-floor"]),
    ] + functions.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // The hosted login page's templates (functions/login only among the functions: it imports Foundation, see
        // HTMLText.swift), and the CLI's HTML migration report.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // Already under Hummingbird; named so the gateway can import them.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System libraries, linked from Debian's -dev packages (see GRDB's GRDBSQLite for the pattern).
        .systemLibrary(name: "COpenSSL", path: "Sources/System/COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/System/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/System/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCrypt", path: "Sources/System/CCrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CUnistring", path: "Sources/System/CUnistring", providers: [.apt(["libunistring-dev"])]),
        .systemLibrary(name: "CArgon2", path: "Sources/System/CArgon2", providers: [.apt(["libargon2-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/System/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libpq, dlopen'ed on first use by a postgres:// store (see its shim.h); the -dev package brings the headers.
        .systemLibrary(name: "CPostgreSQL", path: "Sources/System/CPostgreSQL", providers: [.apt(["libpq-dev"])]),
        // Keeps the functions loadable on glibc 2.34 (Lambda's provided.al2023): see its floor.c.
        .target(name: "CGlibcFloor", path: "Sources/System/CGlibcFloor"),

        // The platform: the function contract, the store, JWS on OpenSSL, upstream HTTP on libcurl, support.
        // It knows nothing of Auth0 (the compiler keeps it so: it cannot see GangwayAuth0).
        // Both core modules import FoundationEssentials only, to keep cold starts small.
        .target(
            name: "GangwayPlatform",
            dependencies: [
                "COpenSSL", "CCurl", "CSQLite", "CCrypt", "CUnistring", "CPostgreSQL", "CZlib", "CArgon2",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/GangwayPlatform",
            swiftSettings: coldStartSwiftSettings,
            // libcrypto, SQLite, libxcrypt, libunistring, zlib and libargon2 are linked from their static archives: every function
            // start then skips loading and relocating four shared objects, and the binaries do not depend on
            // the build machine's libcrypt.so.1 (Amazon Linux 2023 ships .so.2).
            linkerSettings: [
                .linkedLibrary(":libcrypto.a", .when(platforms: [.linux])),
                .linkedLibrary(":libsqlite3.a", .when(platforms: [.linux])),
                .linkedLibrary(":libcrypt.a", .when(platforms: [.linux])),
                .linkedLibrary(":libunistring.a", .when(platforms: [.linux])),
                .linkedLibrary(":libz.a", .when(platforms: [.linux])),
                .linkedLibrary(":libargon2.a", .when(platforms: [.linux])),
                .linkedLibrary("crypto", .when(platforms: [.macOS])),
                .linkedLibrary("sqlite3", .when(platforms: [.macOS])),
                .linkedLibrary("unistring", .when(platforms: [.macOS])),
                .linkedLibrary("z", .when(platforms: [.macOS])),
                .linkedLibrary("argon2", .when(platforms: [.macOS])),
                .linkedLibrary("m"),
            ]
        ),

        // Auth0's behaviour, one folder per feature: tenancy, directory, log events, credentials, token,
        // userinfo, management, migration. Every function links it; it re-exports GangwayPlatform.
        .target(
            name: "GangwayAuth0", dependencies: ["GangwayPlatform"], path: "Sources/GangwayAuth0", swiftSettings: coldStartSwiftSettings),

        // The local runtime shim: plays API Gateway (HTTP) and the Lambda Runtime API (warm workers).
        .target(
            name: "GangwayGateway",
            dependencies: [
                "GangwayPlatform",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "runtime/Gateway"
        ),

        .executableTarget(
            name: "gangway",
            dependencies: [
                "GangwayAuth0", "GangwayGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `gangway migrate report --html`: the migration report as one page.
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Sources/gangway"
        ),

        .executableTarget(name: "gangway-bench", dependencies: ["GangwayAuth0"], path: "bench/Sources/gangway-bench"),
        // The benches' cold floor: reads an event, writes a constant answer; linked exactly as the functions are.
        .executableTarget(
            name: "gangway-cold-floor", dependencies: ["CGlibcFloor"], path: "bench/Sources/gangway-cold-floor",
            linkerSettings: [
                .unsafeFlags(releaseLinkFlags(function: "gangway-cold-floor"), .when(platforms: [.linux], configuration: .release))
            ]
        ),

        .testTarget(
            name: "GangwayCoreTests", dependencies: ["GangwayPlatform", "GangwayAuth0"], path: "Tests/GangwayCoreTests",
            exclude: ["Fixtures"]),
        .testTarget(name: "GangwayTests", dependencies: ["GangwayAuth0"], path: "Tests/GangwayTests"),
        // Every function's handler, called in-process against a real store (`@testable import` of the executables).
        .testTarget(
            name: "GangwayFunctionTests", dependencies: ["GangwayAuth0"] + functions.map { .target(name: $0) },
            path: "Tests/GangwayFunctionTests"
        ),
    ]
        + functions.map {
            .executableTarget(
                name: $0, dependencies: ["GangwayAuth0", "CGlibcFloor"] + (functionDependencies[$0] ?? []),
                path: "functions/\($0)", swiftSettings: coldStartSwiftSettings,
                // Functions ship with the Swift runtime linked in statically: a cold start is our product's latency
                // and skips loading a dozen shared objects. (Set per target, not with --static-swift-stdlib: the
                // `gangway` gateway stays dynamic so NIO can take over Swift's global executor; see Gateway.swift.)
                // --static-swift-stdlib also links FoundationEssentials' own static dependencies; named here for that.
                // A function needs glibc and libgcc_s only, no symbol newer than 2.34 (Lambda's provided.al2023;
                // infra/package.sh checks): libstdc++ is linked statically (StaticCXX/libstdc++.so says how), and the
                // four libc symbols versioned after 2.34 are defined by CGlibcFloor/floor.c. (libgcc_s stays shared:
                // the build machine's static unwinder calls glibc 2.35's _dl_find_object.)
                linkerSettings: [.unsafeFlags(releaseLinkFlags(function: $0), .when(platforms: [.linux], configuration: .release))]
            )
        }
)
