package dev.anneal.core.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EmailTextTest {
    @Test
    void keepsTheSubjectAndTheBodyOfAnMboxMessage() {
        String raw = "From 12a1mailbot1@web.de  Thu Aug 22 13:17:22 2002\n"
                + "Return-Path: <12a1mailbot1@web.de>\n"
                + "Received: from localhost (localhost [127.0.0.1])\n"
                + "\tby phobos.labs.spamassassin.taint.org (Postfix)\n"
                + "Subject: Life Insurance - Why Pay More?\n"
                + "Content-Type: text/html; charset=\"iso-8859-1\"\n"
                + "\n"
                + "<HTML><BODY>Save 70%=\n today</BODY>\n"
                + "\n"
                + "second paragraph\n";
        assertEquals("Subject: Life Insurance - Why Pay More?\n\n<HTML><BODY>Save 70%=\n today</BODY>\n\n"
                + "second paragraph\n", EmailText.subjectAndBody(raw));
    }

    @Test
    void unfoldsAFoldedSubjectAndReadsCrLfMessages() {
        String raw = "Received: by example.org\r\n"
                + "subject: [ILUG] a long\r\n"
                + "\t subject line\r\n"
                + "To: someone@example.org\r\n"
                + "\r\n"
                + "Hello,\r\nbody\r\n";
        assertEquals("Subject: [ILUG] a long subject line\n\nHello,\r\nbody\r\n", EmailText.subjectAndBody(raw));
    }

    @Test
    void aMessageWithoutSubjectGivesItsBodyAndOneWithoutBodyItsSubject() {
        assertEquals("just the body\n", EmailText.subjectAndBody("From: a@b.c\nTo: d@e.f\n\njust the body\n"));
        assertEquals("Subject: only headers", EmailText.subjectAndBody("From: a@b.c\nSubject: only headers\n"));
        assertEquals("Subject: empty body", EmailText.subjectAndBody("Subject: empty body\n\n"));
        assertEquals("", EmailText.subjectAndBody("From: a@b.c\nTo: d@e.f\n"));
    }

    @Test
    void textThatDoesNotOpenWithAHeaderIsReturnedWhole() {
        String prose = "Dear friend: this is not a header.\n\nSubject: nor is this\n";
        assertEquals(prose, EmailText.subjectAndBody(prose));
        assertEquals("no colon at all\n\nbody", EmailText.subjectAndBody("no colon at all\n\nbody"));
        assertEquals("", EmailText.subjectAndBody(""));
    }
}
