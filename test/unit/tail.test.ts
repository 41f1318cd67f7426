import { parseSelector, sumSelected } from '../../src/tail';

const exposition = `# HELP http_server_requests_active_seconds_active_count
# TYPE http_server_requests_active_seconds_active_count gauge
http_server_requests_active_seconds_active_count{exception="none",method="GET",outcome="SUCCESS",status="200",uri="UNKNOWN"} 3.0
http_server_requests_active_seconds_active_count{exception="none",method="GET",outcome="SUCCESS",status="200",uri="/actuator/prometheus"} 1.0
tomcat_threads_busy_threads{name="http-nio-8080"} 4.0
`;

describe('in-flight metric', () => {
  test('sums every series of the metric', () => {
    expect(sumSelected(exposition, parseSelector('http_server_requests_active_seconds_active_count'))).toBe(4);
  });

  test('label matchers select series, e.g. leaving out the scrape itself', () => {
    expect(sumSelected(exposition, parseSelector('http_server_requests_active_seconds_active_count{uri!="/actuator/prometheus"}'))).toBe(3);
    expect(sumSelected(exposition, parseSelector('tomcat_threads_busy_threads{name="http-nio-8080"}'))).toBe(4);
  });

  test('a missing metric is undefined, never zero (zero would end the tail early)', () => {
    expect(sumSelected(exposition, parseSelector('jetty_threads_busy'))).toBeUndefined();
    expect(sumSelected('<html>oops</html>', parseSelector('tomcat_threads_busy_threads'))).toBeUndefined();
  });

  test('a bad selector is refused', () => {
    expect(() => parseSelector('foo{bar}')).toThrow('not a label matcher');
  });
});
