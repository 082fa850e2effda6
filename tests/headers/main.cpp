int f1();
int f2();
int main() { return f1() + f2(); }
