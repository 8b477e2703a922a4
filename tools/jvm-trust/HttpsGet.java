// Fetches one URL over HTTPS with the JVM's default trust, which is what Hadoop S3A's HTTP client
// and Elasticsearch's S3 client use, and prints the HTTP status. Exit 2 when TLS fails.
// Run from source: java tools/jvm-trust/HttpsGet.java <url>
public class HttpsGet {
  public static void main(String[] args) throws Exception {
    var connection = (javax.net.ssl.HttpsURLConnection) java.net.URI.create(args[0]).toURL().openConnection();
    connection.setConnectTimeout(5000);
    connection.setReadTimeout(5000);
    try {
      System.out.println(connection.getResponseCode());
    } catch (javax.net.ssl.SSLException e) {
      System.err.println("TLS failed: " + e.getMessage());
      System.exit(2);
    }
  }
}
