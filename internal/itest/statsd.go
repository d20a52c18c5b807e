package itest

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// StatsdHealth is a check for Addr: it asks the statsd daemon whose UDP
// metrics port is addr for its health on its management port, the port
// after it (as scripts/servers/statsd.sh sets it up), and fails unless
// the daemon answers "up". A daemon just started can miss the first
// question, so it asks up to three times.
func StatsdHealth(addr string) (err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	mgmt := net.JoinHostPort(host, strconv.Itoa(p+1))
	for range 3 {
		if err = askHealth(mgmt); err == nil {
			return nil
		}
	}
	return err
}

func askHealth(mgmt string) error {
	c, err := net.DialTimeout("tcp", mgmt, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("health\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(line, "up") {
		return fmt.Errorf("statsd health: %q", line)
	}
	return nil
}
