package org.pwgate.proxy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pwgate.config.PwgateConfig;
import org.pwgate.config.PwgateConfig.Auth;
import org.pwgate.config.PwgateConfig.AuthSource;
import org.pwgate.config.PwgateConfig.Backend;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.config.PwgateConfig.Bootstrap;
import org.pwgate.config.PwgateConfig.BootstrapUser;
import org.pwgate.config.PwgateConfig.Limits;
import org.pwgate.config.PwgateConfig.Listen;
import org.pwgate.config.PwgateConfig.LogFormat;
import org.pwgate.config.PwgateConfig.Logging;
import org.pwgate.config.PwgateConfig.Parameters;
import org.pwgate.config.PwgateConfig.Throttle;
import org.pwgate.config.PwgateConfig.Tls;
import org.pwgate.config.Secret;

/** Config records built by hand, as tests need them. */
public final class TestConfigs {
    private TestConfigs() {}

    public static final String ADMIN = "rdsadmin";
    public static final String ADMIN_PASSWORD = "admin-secret";
    public static final String MASTER = "postgres";
    public static final String MASTER_PASSWORD = "master-secret";
    public static final String APP = "app";
    public static final String APP_PASSWORD = "app-secret";

    public static PwgateConfig embedded(int maxClients, Duration authTimeout) {
        return new PwgateConfig(
                new Listen("127.0.0.1", 0),
                new Backend("127.0.0.1", 0, Optional.of(new PwgateConfig.Embedded("17", Optional.empty())),
                        Duration.ofSeconds(5), BackendTlsMode.DISABLE, Optional.empty()),
                new Auth(AuthSource.AUTH_QUERY, Optional.of(ADMIN), Optional.of(new Secret(ADMIN_PASSWORD)),
                        Optional.empty(), Optional.empty(), Optional.empty()),
                limits(maxClients, authTimeout),
                new Parameters(false, Map.of()),
                "rds_password",
                List.of(ADMIN),
                Optional.of(new Bootstrap(Optional.of(MASTER), Optional.of(new Secret(MASTER_PASSWORD)),
                        List.of(new BootstrapUser(APP, Optional.of(new Secret(APP_PASSWORD)), "LOGIN", List.of())))),
                Tls.disabled(),
                Optional.empty(),
                new Logging(LogFormat.TEXT, Map.of(), Optional.empty()),
                Optional.empty());
    }

    public static Limits limits(int maxClients, Duration authTimeout) {
        return new Limits(maxClients, authTimeout, 64L << 20, Duration.ofSeconds(5),
                new Throttle(5, Duration.ofMinutes(1), Duration.ofMillis(10)));
    }
}
