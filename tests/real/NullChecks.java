// A JVM recovers from SIGSEGV on purpose: once the JIT compiles the loop
// below, its null checks are implicit (a load from address 0 that faults,
// and the JVM's SIGSEGV handler turns the fault into the exception). Run as
// a single source file (java NullChecks.java); prints how many it caught.
public class NullChecks {
    static final class Box {
        int value;
    }

    static int read(Box b) {
        return b.value;
    }

    public static void main(String[] args) {
        Box[] boxes = {new Box(), null};
        long caught = 0, sum = 0;
        for (int i = 0; i < 2_000_000; i++) {
            try {
                sum += read(boxes[i & 1]);
            } catch (NullPointerException e) {
                caught++;
            }
        }
        System.out.println("caught " + caught + " null pointers, sum " + sum);
    }
}
